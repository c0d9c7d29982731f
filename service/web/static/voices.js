// Voices: every voice the user can use, with a play button for its sample and its measured
// pitch; "Use" puts it among the form's voice choices; a form that makes a blend of two voices;
// the user's own voices can be deleted.

import { apiUrl, requestJson } from "./api.js";

const list = document.getElementById("voice-list");
const template = document.getElementById("voice-template");
const player = document.getElementById("voice-sample");
const status = document.getElementById("voice-status");
const blendForm = document.getElementById("blend-form");
const blendError = document.getElementById("blend-error");
const weight = document.getElementById("blend-weight");
const weightValue = document.getElementById("blend-weight-value");

/** Fetches the voices (with the user's own) and lists them. */
export async function loadVoices() {
  let data;
  try {
    data = await requestJson(apiUrl("/voices"));
  } catch (error) {
    status.textContent = `The voices cannot be shown: ${error.message}`;
    return;
  }
  const voices = data?.voices ?? [];
  list.replaceChildren(...voices.map(voiceRow));
  fillBlendChoices(voices);
  fillQuoteChoices(voices);
}

/** The narration form's "Quotes read by" choices: the same voice, or any installed voice. */
function fillQuoteChoices(voices) {
  const select = document.getElementById("quote-voice");
  const kept = select.value;
  const usable = voices.filter((voice) => voice.installed !== false);
  select.replaceChildren(new Option("The same voice", ""),
    ...usable.map((voice) => new Option(`${voice.name ?? voice.id} (${voice.gender})`, voice.id)));
  select.value = usable.some((voice) => voice.id === kept) ? kept : "";
}

/** One voice's row: name, label, sample facts and its buttons. */
function voiceRow(voice) {
  const row = template.content.firstElementChild.cloneNode(true);
  row.dataset.voice = voice.id;
  row.querySelector(".voice-name").textContent = voice.name ?? voice.id;
  row.querySelector(".voice-gender").textContent = voice.private ? `${voice.gender}, yours` : voice.gender;
  row.querySelector(".voice-facts").textContent = facts(voice);
  const play = row.querySelector(".voice-play");
  play.setAttribute("aria-label", `Play a sample of ${voice.name ?? voice.id}`);
  play.disabled = voice.installed === false;
  play.addEventListener("click", () => playSample(voice, play));
  const use = row.querySelector(".voice-use");
  use.setAttribute("aria-label", `Use ${voice.name ?? voice.id} for the next narration`);
  use.disabled = voice.installed === false;
  use.addEventListener("click", () => useVoice(voice));
  const remove = row.querySelector(".voice-delete");
  remove.hidden = !voice.private;
  remove.setAttribute("aria-label", `Delete ${voice.name ?? voice.id}`);
  remove.addEventListener("click", () => deleteVoice(voice));
  return row;
}

/** "median pitch 231 Hz, 10.3 s sample", or why there is none yet. */
function facts(voice) {
  if (voice.installed === false) return "Not installed on this server.";
  const sample = voice.sample ?? {};
  const parts = [];
  if (sample.median_pitch_hz) parts.push(`median pitch ${Math.round(sample.median_pitch_hz)} Hz`);
  if (sample.seconds) parts.push(`${sample.seconds.toFixed(1)} s sample`);
  if (voice.blend) parts.push(`blend of ${Object.entries(voice.blend).map(([n, w]) => `${n} ${Math.round(w * 100)} %`).join(", ")}`);
  return parts.join(" · ") || "Sample made on first play (a few seconds).";
}

/** Plays the voice's sample (the first play on a server makes it, which takes seconds). */
function playSample(voice, button) {
  status.textContent = voice.sample?.rendered ? "" : `Making the sample of ${voice.name ?? voice.id}…`;
  player.src = voice.sample?.url ?? apiUrl(`/voices/${encodeURIComponent(voice.id)}/sample.mp3`);
  player.dataset.voice = voice.id;
  player.play().then(() => {
    status.textContent = `Playing ${voice.name ?? voice.id}.`;
  }).catch(() => {
    status.textContent = `The sample of ${voice.name ?? voice.id} cannot be played here.`;
  });
  button.focus();
}

/** Makes the voice a choice of the narration form (adding a radio for it) and chooses it. */
function useVoice(voice) {
  const form = document.getElementById("narration-form");
  let input = [...form.elements.voice].find((choice) => choice.value === voice.id);
  if (!input) {
    const label = document.createElement("label");
    label.className = "choice";
    input = document.createElement("input");
    input.type = "radio";
    input.name = "voice";
    input.value = voice.id;
    const name = document.createElement("span");
    name.className = "choice-name";
    name.textContent = voice.name ?? voice.id;
    const detail = document.createElement("span");
    detail.className = "choice-detail";
    detail.textContent = voice.gender;
    label.append(input, name, detail);
    form.querySelector("#voice-field .choices").append(label);
  }
  input.checked = true;
  status.textContent = `${voice.name ?? voice.id} will read your next narration.`;
}

/** Deletes one of the user's own voices. */
async function deleteVoice(voice) {
  try {
    await requestJson(apiUrl(`/voices/${encodeURIComponent(voice.id)}`), { method: "DELETE" });
    status.textContent = `Deleted ${voice.name ?? voice.id}.`;
  } catch (error) {
    status.textContent = error.message;
  }
  await loadVoices();
}

/** The blend form's choices: single speakers that are installed (the API says which mix). */
function fillBlendChoices(voices) {
  const singles = voices.filter((voice) => voice.speaker && !voice.blend && voice.installed !== false);
  for (const [select, index] of [[blendForm.elements.first, 0], [blendForm.elements.second, 1]]) {
    const kept = select.value;
    select.replaceChildren(...singles.map((voice) => new Option(`${voice.name ?? voice.id} (${voice.gender})`, voice.id)));
    select.value = singles.some((voice) => voice.id === kept) ? kept : singles[index]?.id ?? "";
  }
  // A voice blended with itself is no blend: keep the two choices apart.
  const { first, second } = blendForm.elements;
  if (first.value && first.value === second.value) {
    second.value = singles.find((voice) => voice.id !== first.value)?.id ?? "";
  }
}

/** Sends the blend; the answer comes once its sample is made and measured. */
async function makeBlend(event) {
  event.preventDefault();
  blendError.textContent = "";
  const { first, second, id, gender } = blendForm.elements;
  const share = Number(weight.value);
  const body = { id: id.value.trim(), blend: { [first.value]: share, [second.value]: Number((1 - share).toFixed(2)) } };
  if (gender.value) body.gender = gender.value;
  const button = document.getElementById("blend-submit");
  button.disabled = true;
  button.textContent = "Making the sample…";
  try {
    const voice = await requestJson(apiUrl("/voices"), { method: "POST", body });
    status.textContent = `Made ${voice.name}: ${voice.gender}, median pitch ${Math.round(voice.sample?.median_pitch_hz ?? 0)} Hz.`;
    blendForm.reset();
    showWeight();
    await loadVoices();
  } catch (error) {
    blendError.textContent = error.message;
  } finally {
    button.disabled = false;
    button.textContent = "Make voice";
  }
}

function showWeight() {
  weightValue.textContent = `${Math.round(Number(weight.value) * 100)} %`;
}

/** Wires the blend form and the slider. */
export function setUpVoices() {
  blendForm.addEventListener("submit", makeBlend);
  weight.addEventListener("input", showWeight);
  player.addEventListener("error", () => {
    status.textContent = "The sample could not be loaded (is the voice installed?).";
  });
  showWeight();
}

/** Empties what a signed-out page must not show: the user's own voices. */
export function forgetVoices() {
  list.replaceChildren();
}
