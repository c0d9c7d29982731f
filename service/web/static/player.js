// Listening: chapter previews while a job runs, then the whole episode with chapters and transcript.

import { requestJson } from "./api.js";
import { clock } from "./format.js";

const audio = document.getElementById("audio");
const chapterNav = document.getElementById("chapter-nav");
const transcript = document.getElementById("transcript");
const download = document.getElementById("download");
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

/** One shared audio element for chapter previews, so two chapters never play over each other. */
export class PreviewPlayer {
  constructor() {
    this.sound = new Audio();
    this.button = null;
    this.playing = false; // true only once sound actually comes out ("playing"), not on a mere play()
    this.sound.addEventListener("playing", () => this.showState(true));
    for (const type of ["pause", "ended", "error", "emptied"]) {
      this.sound.addEventListener(type, () => this.showState(false));
    }
    // Starting the episode stops a preview, and the reverse.
    audio.addEventListener("play", () => this.sound.pause());
    this.sound.addEventListener("play", () => audio.pause());
  }

  /** Plays a chapter's preview from its button, or pauses it when it is the one playing. */
  toggle(url, button) {
    if (this.button === button && this.playing) {
      this.sound.pause();
      return;
    }
    if (this.button !== button) {
      this.button = button;
      this.sound.src = url;
    }
    this.sound.play().catch(() => this.showState(false));
  }

  /** Keeps the buttons' words and pressed state in line with what is actually playing. */
  showState(playing) {
    this.playing = playing;
    for (const button of document.querySelectorAll(".chapters .play")) {
      const verb = playing && button === this.button ? "Pause" : "Play";
      button.textContent = verb;
      button.setAttribute("aria-label", `${verb} ${button.dataset.name}`);
    }
  }

  /** Stops and forgets the preview, when another job is opened. */
  reset() {
    this.sound.pause();
    this.sound.removeAttribute("src");
    this.button = null;
  }
}

/** The finished episode's output URLs (from the job's links). */
function outputs(job) {
  const links = job.links ?? {};
  return { audio: links.audio, chapters: links.chapters, transcript: links.transcript };
}

/** Loads a finished job into the player: audio, chapter buttons, transcript and download link. */
export function loadEpisode(job) {
  const urls = outputs(job);
  audio.src = urls.audio;
  download.href = urls.audio;
  for (const old of audio.querySelectorAll("track")) old.remove();
  chapterNav.replaceChildren();
  transcript.replaceChildren();
  if (urls.transcript) loadTranscript(urls.transcript);
  if (urls.chapters) loadChapters(urls.chapters).catch(() => {
    chapterNav.replaceChildren(); // the episode still plays without chapter buttons
  });
  document.getElementById("player").hidden = false;
}

/** Empties the player, when another job is opened. */
export function resetEpisode() {
  audio.pause();
  audio.removeAttribute("src");
  for (const old of audio.querySelectorAll("track")) old.remove();
  audio.load();
  document.getElementById("player").hidden = true;
}

/** Adds chapter buttons from chapters.json; each seeks the episode to its chapter's start. */
async function loadChapters(url) {
  const { chapters = [] } = await requestJson(url);
  const items = chapters.map((chapter, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chapter-jump";
    button.dataset.start = chapter.startTime;
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = clock(chapter.startTime);
    button.append(time, ` ${chapter.title || `Chapter ${index + 1}`}`);
    button.addEventListener("click", () => playFrom(chapter.startTime));
    const item = document.createElement("li");
    item.append(button);
    return item;
  });
  chapterNav.replaceChildren(...items);
  markCurrentChapter();
}

/** Seeks the episode and plays from there. */
function playFrom(seconds) {
  audio.currentTime = Number(seconds);
  audio.play().catch(() => {}); // a browser may refuse to play; the position is still set
}

/** Marks the chapter that contains the playing position (aria-current), as the episode plays. */
function markCurrentChapter() {
  const buttons = [...chapterNav.querySelectorAll("button")];
  const current = buttons.filter((button) => Number(button.dataset.start) <= audio.currentTime + 0.05).pop();
  for (const button of buttons) {
    if (button === current) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

/** Loads transcript.vtt as a hidden subtitles track; its cues become the list, highlighted as spoken. */
function loadTranscript(url) {
  const element = document.createElement("track");
  element.kind = "subtitles";
  element.label = "Transcript";
  element.srclang = document.documentElement.lang;
  element.src = url;
  element.default = true;
  element.addEventListener("load", () => showCues(element.track));
  element.addEventListener("error", () => showMissingTranscript());
  element.track.addEventListener("cuechange", () => highlightCues(element.track));
  audio.append(element);
  element.track.mode = "hidden"; // cues load and fire cuechange, but the browser draws nothing
}

/** Says so when the transcript cannot be loaded, rather than leaving an empty box. */
function showMissingTranscript() {
  const item = document.createElement("li");
  item.className = "hint";
  item.textContent = "The transcript could not be loaded.";
  transcript.replaceChildren(item);
}

const cueItems = new Map(); // cue → its list item, for highlighting

/** Lists every cue as a button that plays from it. */
function showCues(track) {
  cueItems.clear();
  const items = Array.from(track.cues ?? [], (cue) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "cue";
    // The browser's own WebVTT parser: entities decoded, voice spans (<v Quote>…) read.
    button.textContent = cue.getCueAsHTML().textContent;
    button.addEventListener("click", () => playFrom(cue.startTime));
    const item = document.createElement("li");
    const voice = /^<v(?:\.[^\s>]*)?\s+([^>]+)>/.exec(cue.text)?.[1]?.trim();
    if (voice) {
      item.dataset.voice = voice; // a narration with a quote voice: its quotes look different
      button.title = voice;
    }
    item.append(button);
    cueItems.set(cue, item);
    return item;
  });
  transcript.replaceChildren(...items);
}

/** Highlights the cue being spoken and keeps it in view inside the transcript box. */
function highlightCues(track) {
  // At a boundary two cues can be active for an instant; the later one is what is being spoken.
  const speaking = Array.from(track.activeCues ?? []).sort((a, b) => a.startTime - b.startTime).pop();
  const current = cueItems.get(speaking);
  for (const item of cueItems.values()) {
    item.classList.toggle("speaking", item === current);
    if (item === current) item.setAttribute("aria-current", "true");
    else item.removeAttribute("aria-current");
  }
  if (current) {
    // Scroll the box, not the page: the listener may be reading something else on it.
    const top = current.offsetTop - transcript.clientHeight / 3;
    transcript.scrollTo({ top, behavior: reducedMotion.matches ? "auto" : "smooth" });
  }
}

audio.addEventListener("timeupdate", markCurrentChapter);
