// The checks on the job card: the names a listener may hear wrong (each with a play button and a
// way to add a pronunciation to your lexicon), narrating again with them (any narration of yours:
// the service keeps what was sent), and the recognition check's summary. Everything is built as DOM nodes (no innerHTML: names come from user text).

import { apiUrl, requestJson } from "./api.js";
import { clock } from "./format.js";

/** The lexicon the page adds to: one of your default lexicons, so later narrations use it. */
export const LEXICON = "pronunciations";

const section = document.getElementById("names");
const summary = document.getElementById("names-summary");
const list = document.getElementById("names-list");
const again = document.getElementById("narrate-again");
const againError = document.getElementById("narrate-again-error");
const checkBox = document.getElementById("job-check");
let audioContext = null; // made on the first Play press (browsers start sound only after a gesture)
let playing = null;

let shownJob = null;

/** Draws the names of the job (once per job: rows keep what a person is typing). */
export function renderNames(job) {
  if (shownJob !== job.id) {
    shownJob = job.id;
    list.replaceChildren();
    again.hidden = true; // shown once a pronunciation is added
    againError.textContent = "";
  }
  const names = job.names;
  section.hidden = !names || names.names === 0;
  if (!names) return;
  summary.textContent = names.summary;
  for (const name of names.words) {
    if (!list.querySelector(`li[data-word="${CSS.escape(name.word)}"]`)) list.append(nameRow(job, name));
  }
}

/** One name: the word, where it is said, a play button, and a field to add a pronunciation. */
function nameRow(job, name) {
  const row = document.createElement("li");
  row.className = "name";
  row.dataset.word = name.word;
  row.dataset.inLexicon = String(name.in_lexicon);
  const word = document.createElement("strong");
  word.textContent = name.word;
  const state = document.createElement("span");
  state.className = "badge name-state";
  state.textContent = name.in_lexicon ? "In your lexicon" : name.guessed ? "Not in your lexicon; guessed by the voice" : "Not in your lexicon";
  const where = document.createElement("p");
  where.className = "hint";
  where.textContent = name.sentences[0]?.text ?? "";

  const play = document.createElement("button");
  play.type = "button";
  play.className = "secondary play-name";
  play.textContent = "Play";
  play.setAttribute("aria-label", `Play ${name.word}`);
  play.addEventListener("click", () => playName(job, name.word, play, error));

  const form = document.createElement("form");
  form.className = "pronounce";
  const id = `say-${job.id}-${list.children.length}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = `Say ${name.word} as`;
  const input = document.createElement("input");
  input.id = id;
  input.type = "text";
  input.placeholder = "a respelling, or /IPA/";
  input.autocomplete = "off";
  const add = document.createElement("button");
  add.type = "submit";
  add.className = "secondary";
  add.textContent = "Add pronunciation";
  add.setAttribute("aria-label", `Add pronunciation of ${name.word}`);
  const error = document.createElement("p");
  error.className = "field-error";
  error.setAttribute("aria-live", "polite");
  form.append(label, input, add);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    addPronunciation(name.word, input.value.trim(), { row, state, error, add });
  });
  row.append(word, " ", state, where, play, form, error);
  return row;
}

/** Says the name in the job's voice with your lexicons applied (POST /lexicons/preview). */
async function playName(job, word, button, error) {
  error.textContent = "";
  button.dataset.state = "loading";
  try {
    const response = await fetch(apiUrl("/lexicons/preview"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "audio/mpeg" },
      body: JSON.stringify({ text: word, voice: job.voice, speed: job.speed }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body?.error?.message ?? `The preview failed (HTTP ${response.status}).`);
    }
    // Web Audio plays the answer's bytes: the page's policy allows media only from its own
    // origin, and a POST's answer has no URL an <audio> element could load.
    audioContext ??= new AudioContext();
    const clip = await audioContext.decodeAudioData(await response.arrayBuffer());
    if (playing) { // a name still sounding is cut off (and its button keeps its last state)
      playing.onended = null;
      playing.disconnect();
    }
    playing = audioContext.createBufferSource();
    playing.buffer = clip;
    playing.connect(audioContext.destination);
    playing.onended = () => { button.dataset.state = "played"; };
    await audioContext.resume();
    playing.start();
    button.dataset.state = "playing";
  } catch (failure) {
    button.dataset.state = "failed";
    error.textContent = failure instanceof DOMException
      ? `${word} could not be played here (${failure.message}).` : failure.message;
  }
}

/** Adds (or replaces) the word's entry in your "pronunciations" lexicon (a two-column list). */
async function addPronunciation(word, said, { row, state, error, add }) {
  error.textContent = "";
  if (!said) {
    error.textContent = `Type how to say ${word}: a respelling such as "kay-leb", or IPA between slashes.`;
    return;
  }
  add.disabled = true;
  try {
    const entries = await lexiconEntries();
    entries.set(word, said);
    const source = [...entries].map(([grapheme, value]) => `${grapheme}\t${value}`).join("\n") + "\n";
    const response = await fetch(apiUrl(`/lexicons/${LEXICON}`), {
      method: "PUT", credentials: "same-origin",
      headers: { "Content-Type": "text/plain; charset=utf-8", Accept: "application/json" }, body: source,
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error(body?.error?.message ?? `The lexicon was not saved (HTTP ${response.status}).`);
    }
    row.dataset.inLexicon = "true";
    state.textContent = `Added: ${said}`;
    again.hidden = false;
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    add.disabled = false;
  }
}

/** The entries of your "pronunciations" lexicon, grapheme → respelling or /IPA/ (empty if none). */
async function lexiconEntries() {
  const entries = new Map();
  try {
    const lexicon = await requestJson(apiUrl(`/lexicons/${LEXICON}`));
    for (const entry of lexicon.words) entries.set(entry.grapheme, entry.alias ?? `/${entry.phonemes}/`);
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  return entries;
}

/** Draws the recognition check's summary, with a link to check.json, for jobs that asked for it. */
export function renderCheck(job) {
  const check = job.check;
  checkBox.hidden = !check;
  if (!check) return;
  const line = document.getElementById("job-check-summary");
  const link = document.getElementById("job-check-link");
  const suspects = document.getElementById("job-check-suspects");
  checkBox.dataset.status = check.status;
  link.hidden = !job.links?.check;
  if (job.links?.check) link.href = job.links.check;
  if (check.status !== "done") {
    line.textContent = check.status === "pending" ? "Recognition check: when the narration is ready." : "";
    suspects.replaceChildren();
    return;
  }
  const percent = (check.wer * 100).toFixed(1);
  const names = check.names_not_recognized.length;
  line.textContent = `Recognition check: ${percent} % of ${check.words} words heard differently; ` +
    `${check.retried} sentence${check.retried === 1 ? "" : "s"} narrated again, ` +
    `${check.suspect.length} still suspect; ${names} name${names === 1 ? "" : "s"} not recognized.`;
  suspects.replaceChildren(...check.suspect.map((sentence) => {
    const item = document.createElement("li");
    item.textContent = `${clock(sentence.start)} “${sentence.text}” (${sentence.problem}; heard “${sentence.heard}”)`;
    return item;
  }));
}

/**
 * Wires "Narrate again with these pronunciations" to `narrateAgain()`, which makes the new
 * narration and shows it; a refusal (a quota, a voice removed since) is said under the button.
 */
export function setUpChecks(narrateAgain) {
  again.addEventListener("click", async () => {
    againError.textContent = "";
    again.disabled = true; // one click, one narration
    try {
      await narrateAgain();
    } catch (failure) {
      againError.textContent = failure.message;
    } finally {
      again.disabled = false;
    }
  });
}
