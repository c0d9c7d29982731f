// The submission form: reading it, loading a file into it, and showing errors beside their fields.

import { apiUrl, requestJson } from "./api.js";

const form = document.getElementById("narration-form");
const textArea = document.getElementById("text");
const markdownBox = document.getElementById("markdown");
const speed = document.getElementById("speed");
const speedValue = document.getElementById("speed-value");
const formError = document.getElementById("form-error");

// API field names → the id of the form field that shows the error.
const FIELD_FOR = { text: "text", markdown: "text", chapters: "text", html: "text", url: "url", title: "title", voice: "voice", quote_voice: "quote-voice", speed: "speed", file: "file", feed: "feed", check: "check" };
// Errors that concern a field even when the API names none.
const FIELD_FOR_CODE = { empty_text: "text", nothing_speakable: "text", invalid_text: "text", payload_too_large: "text",
  unknown_voice: "voice", voice_unavailable: "voice", invalid_speed: "speed", recognizer_unavailable: "check" };
const MARKDOWN_FILE = /\.(md|markdown)$/i;
const HTML_FILE = /\.(html?|xhtml)$/i;
const MARKDOWN_HINT = /^#{1,6}\s+\S/m; // an ATX heading: the one sign that matters for chapters

let markdownChosen = false; // once a person ticks the box, stop guessing for them
let htmlOpened = false; // the text box holds a web page opened from a file: sent as HTML

/** The JSON body for POST /narrations, or null after showing why the form is not ready. */
function readForm() {
  const text = textArea.value;
  const link = form.elements.url.value.trim();
  if (!text.trim() && !link) {
    showFieldError("text", "Paste some text, open a file or give a link first.");
    return null;
  }
  const kind = htmlOpened ? "html" : markdownBox.checked ? "markdown" : "text";
  const body = link ? { url: link } : { [kind]: text };
  const title = form.elements.title.value.trim();
  if (title) body.title = title;
  body.voice = form.elements.voice.value;
  const quoteVoice = form.elements.quote_voice.value;
  if (quoteVoice) body.quote_voice = quoteVoice; // "": the same voice reads the quotes
  body.speed = Number(speed.value);
  const feed = form.elements.feed.value;
  body.feed = feed === "none" ? null : feed || "default"; // null: the narration goes in no feed
  if (form.elements.check.checked) body.check = true;
  return body;
}

/** Shows an API error next to the field it concerns (or above the form). */
export function showApiError(error) {
  showFieldError(error.field ?? FIELD_FOR_CODE[error.code], error.message);
}

/** Shows an error next to the field it concerns (or above the form), and moves focus there. */
function showFieldError(field, message) {
  const id = FIELD_FOR[field];
  const holder = id && document.getElementById(`${id}-error`);
  if (!holder) {
    formError.textContent = message;
    return;
  }
  holder.textContent = message;
  const control = id === "voice" ? document.getElementById("voice-field") : document.getElementById(id);
  control.setAttribute("aria-invalid", "true");
  (id === "voice" ? form.querySelector("input[name=voice]:checked") ?? form.elements.voice[0] : control).focus();
}

/** Removes every error message, before a new attempt. */
function clearErrors() {
  formError.textContent = "";
  for (const holder of form.querySelectorAll(".field-error")) holder.textContent = "";
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

/** Clears one field's error once the person changes that field. */
function clearFieldErrorOf(control) {
  const id = control.name === "voice" ? "voice" : control.id;
  const holder = document.getElementById(`${id}-error`);
  if (holder) holder.textContent = "";
  (id === "voice" ? document.getElementById("voice-field") : control).removeAttribute("aria-invalid");
}

/** Puts a chosen file's text into the text box; Markdown files are sent as Markdown, web pages
 * (.html) as HTML, so the server keeps only the article. */
async function loadFile() {
  const file = form.elements.file.files[0];
  if (!file) return;
  clearErrors();
  try {
    textArea.value = await file.text();
  } catch {
    showFieldError("file", "That file could not be read. Choose a .txt, .md or .html file.");
    return;
  }
  htmlOpened = HTML_FILE.test(file.name);
  markdownBox.checked = MARKDOWN_FILE.test(file.name);
  markdownChosen = true;
}

/** Ticks "Markdown" for pasted text that looks like it, until the person decides for themselves. */
function guessMarkdown() {
  if (!markdownChosen) markdownBox.checked = MARKDOWN_HINT.test(textArea.value);
}

/** Fills the voice choices' descriptions from the catalogue (GET /voices), matched by alias. */
async function describeVoices() {
  let data;
  try {
    data = await requestJson(apiUrl("/voices"));
  } catch {
    return; // the plain labels still work
  }
  const voices = Array.isArray(data) ? data : data?.voices ?? [];
  const aliases = data?.aliases ?? {};
  for (const input of form.elements.voice) {
    const alias = input.value;
    const voice = voices.find((v) => v.id === aliases[alias] || v.id === alias || (v.aliases ?? []).includes(alias));
    if (!voice) continue;
    const missing = voice.installed === false;
    input.closest("label").querySelector("[data-voice-detail]").textContent =
      `${voice.name ?? voice.id}${missing ? " (not installed on this server)" : ""}`;
    input.disabled = missing;
  }
  // Never leave a voice chosen that cannot be used.
  const choices = [...form.elements.voice];
  if (choices.some((input) => input.checked && input.disabled)) {
    const usable = choices.find((input) => !input.disabled);
    if (usable) usable.checked = true;
  }
}

/** Shows the chosen speed as "1.25×" beside the slider, and in words for screen readers. */
function showSpeed() {
  const value = Number(speed.value).toFixed(2);
  speedValue.textContent = `${value}×`;
  speed.setAttribute("aria-valuetext", `${value} times normal speed`);
}

/** Wires the form's own behaviour; `onSubmit` receives the request body. */
export function setUpForm(onSubmit) {
  form.elements.file.addEventListener("change", loadFile);
  textArea.addEventListener("input", guessMarkdown);
  markdownBox.addEventListener("change", () => { markdownChosen = true; });
  speed.addEventListener("input", showSpeed);
  form.addEventListener("input", (event) => clearFieldErrorOf(event.target));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors();
    const body = readForm();
    if (body) onSubmit(body);
  });
  showSpeed();
  describeVoices();
}

/** Disables the submit button while a request is on its way, so one click makes one job. */
export function setBusy(busy) {
  const button = document.getElementById("submit");
  button.disabled = busy;
  button.textContent = busy ? "Sending…" : "Narrate";
}
