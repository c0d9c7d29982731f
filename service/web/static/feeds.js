// The user's podcast feeds: the default feed's private address to subscribe to, how many
// episodes it has and how many are on their way, and the form's choice of which feed a new
// narration goes into. Like an API key, the address is shown only when it is made (only a digest
// of its token is kept), so the page offers a new one. Which narrations are in the feed comes
// from the API; their status comes from the page's one store of jobs (store.js), so the feed
// card agrees with the job card and the recent list.

import { apiUrl, requestJson } from "./api.js";
import { getJob, subscribe, whenNewJobs } from "./store.js";

const urlField = document.getElementById("feed-url");
const urlRow = document.getElementById("feed-url-row");
const status = document.getElementById("feed-status");
const choice = document.getElementById("feed");
const newAddress = document.getElementById("new-feed-address");
let mainFeed = null; // the default feed, whose address the page shows
const episodesLine = document.getElementById("feed-episodes");
const NO_FEED = "none"; // the API's word for "in no feed"
const chapterEpisodes = document.getElementById("chapter-episodes");
const opmlLink = document.getElementById("opml-link");
const clipsStatus = document.getElementById("clips-status");
const CLIPS = { intro: "intro", outro: "outro" }; // the API's names, and what the page calls them

let shown = null; // the feed the card shows (the default feed), with its narrations
let entries = new Map(); // narration id → the status the feed's entry list last gave

/**
 * Fetches the feeds and shows them. Resolves to true when the session was accepted (also when
 * the feeds could not be shown for another reason), false when the API answered 401.
 */
export async function loadFeeds() {
  let feeds;
  try {
    ({ feeds = [] } = await requestJson(apiUrl("/feeds")));
  } catch (error) {
    if (error.status === 401) return false;
    showAddress(null, `Your podcast feed cannot be shown: ${error.message}`);
    return true;
  }
  const [main] = feeds; // the API lists the default feed first
  mainFeed = main ?? null;
  newAddress.hidden = !main;
  if (!main) showAddress(null, "You have no podcast feed yet.");
  else if (!main.url_active) showAddress(null, "This feed's private address is turned off. Make a new one to subscribe.");
  else if (!main.url) showAddress(null, "Your feed's private address was shown when it was made and is not kept, " +
    "like a password. Lost it? Make a new one (apps subscribed to the old one must then subscribe again).");
  else showAddress(main.url, "");
  showSettings(main);
  fillChoice(feeds);
  shown = main ?? null;
  await loadEntries();
  return true;
}

/**
 * Fetches which narrations are in the shown feed (keeps the old list when that fails), and
 * redraws unless `draw` is false: for narrations the store is about to hold, the store's own
 * change redraws, so the card never counts a narration the recent list does not show yet.
 */
async function loadEntries({ draw = true } = {}) {
  if (!shown) {
    entries = new Map();
  } else {
    try {
      const { episodes = [] } = await requestJson(apiUrl(`/feeds/${encodeURIComponent(shown.id)}/episodes`));
      entries = new Map(episodes.map((entry) => [entry.narration, entry.status]));
    } catch {
      // The next new narration fetches it again.
    }
  }
  if (draw) renderEpisodes();
}

/** A narration this page just sent into a feed ("default", an id, or null for none). */
export function noteNarrationFeed(jobId, feed) {
  if (shown && (feed === shown.id || (feed === "default" && shown.default))) entries.set(jobId, "queued");
}

/** A narration made again from `fromId`: it went into the feeds that one is in. */
export function noteNarrationAgain(jobId, fromId) {
  if (entries.has(fromId)) entries.set(jobId, "queued");
}

/** "3 episodes · 1 on its way": each narration's status as the store holds it. */
function renderEpisodes() {
  let ready = 0;
  let coming = 0;
  for (const [id, listed] of entries) {
    const status = getJob(id)?.status ?? listed;
    if (status === "done") ready += 1;
    else if (status === "queued" || status === "running") coming += 1;
  }
  episodesLine.dataset.episodes = ready;
  episodesLine.dataset.coming = coming;
  if (!shown) {
    episodesLine.textContent = "";
    return;
  }
  const parts = [`${ready} ${ready === 1 ? "episode" : "episodes"}`];
  if (coming) parts.push(`${coming} on ${coming === 1 ? "its" : "their"} way`);
  episodesLine.textContent = parts.join(" · ");
}

/** Shows the private address (or hides the field and says why there is none). */
function showAddress(url, message) {
  urlField.value = url ?? "";
  urlRow.hidden = !url;
  status.textContent = message;
}

/** The form's feed choices: each feed (the default chosen), then "No feed"; a choice survives reloads. */
function fillChoice(feeds) {
  const kept = choice.value;
  const options = feeds.map((feed) => new Option(feed.default ? `${feed.title} (default)` : feed.title, feed.id));
  options.push(new Option("No feed (keep it out of podcast apps)", NO_FEED));
  choice.replaceChildren(...options);
  const defaultFeed = feeds.find((feed) => feed.default) ?? feeds[0];
  const wanted = [...choice.options].some((option) => option.value === kept) ? kept : defaultFeed?.id ?? NO_FEED;
  choice.value = wanted;
}

/** The default feed's settings: chapters as episodes, the intro and outro. */
function showSettings(feed) {
  chapterEpisodes.checked = Boolean(feed?.chapter_episodes);
  chapterEpisodes.disabled = !feed;
  chapterEpisodes.dataset.feed = feed?.id ?? "";
  for (const which of Object.keys(CLIPS)) showClip(feed, which);
}

/** Whether the feed has this clip, and how long it is; Remove only when there is one. */
function showClip(feed, which) {
  const clip = feed?.[which] ?? { set: false, seconds: null };
  const state = document.getElementById(`${which}-state`);
  state.textContent = clip.set ? `${clip.seconds.toFixed(1)} s` : "none";
  state.dataset.set = String(clip.set);
  document.getElementById(`${which}-file`).disabled = !feed;
  document.getElementById(`${which}-remove`).hidden = !clip.set;
}

/** Uploads the chosen file as the default feed's intro or outro (the server checks it). */
async function uploadClip(which, input) {
  const [file] = input.files;
  if (!file || !mainFeed) return;
  input.disabled = true;
  clipsStatus.textContent = `Uploading the ${CLIPS[which]}…`;
  try {
    const feed = await requestJson(apiUrl(`/feeds/${encodeURIComponent(mainFeed.id)}/${which}`), {
      method: "PUT", body: file });
    mainFeed = { ...mainFeed, [which]: feed[which] };
    showClip(feed, which);
    clipsStatus.textContent = `The ${CLIPS[which]} (${feed[which].seconds.toFixed(1)} s) goes into every new episode.`;
  } catch (error) {
    clipsStatus.textContent = `The ${CLIPS[which]} was not changed: ${error.message}`;
  } finally {
    input.value = "";
    input.disabled = !mainFeed;
  }
}

/** Takes the intro or outro off the default feed; episodes made with it keep it. */
async function removeClip(which) {
  if (!mainFeed) return;
  try {
    const feed = await requestJson(apiUrl(`/feeds/${encodeURIComponent(mainFeed.id)}/${which}`), {
      method: "DELETE" });
    mainFeed = { ...mainFeed, [which]: feed[which] };
    showClip(feed, which);
    clipsStatus.textContent = `New episodes go without the ${CLIPS[which]}.`;
  } catch (error) {
    clipsStatus.textContent = `The ${CLIPS[which]} was not removed: ${error.message}`;
  }
}

/**
 * Downloads all feeds as OPML. Addresses are stored as digests only, so the list is made with
 * a new address for each feed (POST); apps subscribed by the old addresses stop updating.
 */
async function downloadOpml(event) {
  event.preventDefault();
  if (!window.confirm("This makes a new address for each of your feeds, so podcast apps that use the old ones stop updating. Download the list?")) return;
  const response = await fetch(apiUrl("/feeds.opml"), {
    method: "POST", credentials: "same-origin", headers: { Accept: "text/x-opml" } });
  if (!response.ok) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = "narrator-feeds.opml";
  link.click();
  URL.revokeObjectURL(link.href);
  await loadFeeds();
}

/** Saves the chapters-as-episodes setting of the default feed. */
async function saveChapterEpisodes() {
  const wanted = chapterEpisodes.checked;
  try {
    const feed = await requestJson(apiUrl(`/feeds/${chapterEpisodes.dataset.feed}`), {
      method: "PATCH", body: { chapter_episodes: wanted } });
    chapterEpisodes.checked = feed.chapter_episodes;
    status.textContent = feed.chapter_episodes
      ? "Each chapter is now an episode of its own." : "Each narration is now one episode.";
  } catch (error) {
    chapterEpisodes.checked = !wanted;
    status.textContent = error.message;
  }
}

/** Empties what a signed-out page must not keep showing: the private address. */
export function forgetFeeds() {
  mainFeed = null;
  newAddress.hidden = true;
  showAddress(null, "");
  showSettings(null);
  clipsStatus.textContent = "";
  shown = null;
  entries = new Map();
  renderEpisodes();
}

/** Makes a new private address for the default feed and shows it (this once). */
async function makeNewAddress() {
  if (!mainFeed) return;
  if (mainFeed.url_active && !window.confirm("A new address replaces the old one: podcast apps " +
      "subscribed to the old one stop getting episodes until they subscribe to the new one. Make a new address?")) {
    return;
  }
  newAddress.disabled = true;
  try {
    const made = await requestJson(apiUrl(`/feeds/${mainFeed.id}/token`), { method: "POST" });
    mainFeed = made;
    showAddress(made.url, "Here is your new address; it is shown only now. Copy it into your podcast app.");
  } catch (error) {
    status.textContent = `No new address was made: ${error.message}`;
  } finally {
    newAddress.disabled = false;
  }
}

/** Copies the address: the Clipboard API where allowed, else the selection and the copy command. */
async function copyAddress(event) {
  const button = event.currentTarget;
  const done = "Copied. Paste it into your podcast app.";
  try {
    await navigator.clipboard.writeText(urlField.value);
    status.textContent = done;
    return;
  } catch {
    // No clipboard API (plain http on another host) or no permission: try the old way.
  }
  urlField.select();
  if (document.execCommand("copy")) {
    status.textContent = done;
    button.focus(); // selecting moved focus; give it back to the button that was pressed
  } else {
    status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected address.";
  }
}

/** Wires the Copy button, and selects the whole address when the field gets focus. */
export function setUpFeeds() {
  document.getElementById("copy-feed").addEventListener("click", copyAddress);
  newAddress.addEventListener("click", makeNewAddress);
  urlField.addEventListener("focus", () => urlField.select());
  chapterEpisodes.addEventListener("change", saveChapterEpisodes);
  for (const which of Object.keys(CLIPS)) {
    const input = document.getElementById(`${which}-file`);
    input.addEventListener("change", () => uploadClip(which, input));
    document.getElementById(`${which}-remove`).addEventListener("click", () => removeClip(which));
  }
  opmlLink.addEventListener("click", downloadOpml);
  // A narration started elsewhere (another tab, the API) may be in the feed: ask before the
  // store shows it, so this card counts it in the same moment the recent list lists it.
  whenNewJobs(async (jobs) => {
    if (jobs.some((job) => !entries.has(job.id))) await loadEntries({ draw: false });
  });
  subscribe(renderEpisodes);
}
