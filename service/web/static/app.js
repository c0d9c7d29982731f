// The page's entry point: submit a text, follow the job, listen when it is ready.

import { apiUrl, requestJson, newIdempotencyKey } from "./api.js";
import { setUpForm, setBusy, showApiError } from "./form.js";
import { followJob, isTerminal, jobUrl, renderChapters, renderSummary } from "./job.js";
import { PreviewPlayer, loadEpisode, resetEpisode } from "./player.js";
import { loadRecent, setUpRecent } from "./recent.js";

const jobSection = document.getElementById("job");
const chapterList = document.getElementById("chapters");
const preview = new PreviewPlayer();

let current = { id: null, stop: () => {}, episodeLoaded: false };
// One key per distinct request, so a retried submission (a dropped connection) never makes a second job.
let pending = { body: "", key: "" };

/** Sends the form's body as a new narration and opens the job it makes. */
async function submit(body) {
  const serialized = JSON.stringify(body);
  if (pending.body !== serialized) pending = { body: serialized, key: newIdempotencyKey() };
  setBusy(true);
  try {
    const job = await requestJson(apiUrl("/narrations"), {
      method: "POST",
      body,
      headers: { "Idempotency-Key": pending.key },
    });
    pending = { body: "", key: "" };
    history.replaceState(null, "", `#job=${encodeURIComponent(job.id)}`);
    showJob(job);
    document.getElementById("job-heading").focus();
    loadRecent();
  } catch (error) {
    showApiError(error);
  } finally {
    setBusy(false);
  }
}

/** Shows a job on the page and follows it until it ends. */
function showJob(job) {
  if (current.id !== job.id) {
    current.stop();
    preview.reset();
    resetEpisode();
    chapterList.replaceChildren();
    current = { id: job.id, stop: () => {}, episodeLoaded: false };
  }
  jobSection.hidden = false;
  update(job);
  current.stop(); // never two followers for one job (an idempotent replay returns the same job)
  if (!isTerminal(job)) {
    current.stop = followJob(job, {
      onUpdate: update,
      onError: (error) => { document.getElementById("job-status").textContent = error.message; },
    });
  }
}

/** Redraws the job from a new state; loads the episode once it is done. */
function update(job) {
  if (job.id !== current.id) return; // a late event from a job no longer shown
  renderSummary(job);
  renderChapters(chapterList, job, preview);
  if (job.status === "done" && !current.episodeLoaded) {
    current.episodeLoaded = true;
    loadEpisode(job);
  }
  if (isTerminal(job)) loadRecent();
}

/** Opens the job named in the address (#job=<id>), so a reload or a shared link shows it again. */
async function openJobFromAddress({ focus = false } = {}) {
  const match = location.hash.match(/^#job=([\w-]+)$/);
  if (!match || match[1] === current.id) return;
  try {
    showJob(await requestJson(apiUrl(`/narrations/${match[1]}`)));
  } catch (error) {
    showMissingJob(error.message);
  }
  // Chosen from the recent list: take keyboard and screen-reader users to what opened.
  if (focus) document.getElementById("job-heading").focus();
}

/** Says that the job in the address cannot be shown, and clears what the page showed before. */
function showMissingJob(message) {
  current.stop();
  preview.reset();
  resetEpisode();
  chapterList.replaceChildren();
  current = { id: null, stop: () => {}, episodeLoaded: false };
  jobSection.hidden = false;
  document.getElementById("job-heading").textContent = "Narration not found";
  document.getElementById("job-status").textContent = message;
  document.getElementById("job-detail").textContent = "";
  document.getElementById("job-progress").hidden = true;
  document.getElementById("cancel").hidden = true;
}

/** Asks the service to stop the job being shown. */
async function cancelJob() {
  if (!current.id) return;
  try {
    const job = await requestJson(jobUrl({ id: current.id }), { method: "DELETE" });
    if (job?.id) update(job);
  } catch (error) {
    document.getElementById("job-status").textContent = error.message;
  }
}

setUpForm(submit);
setUpRecent();
document.getElementById("cancel").addEventListener("click", cancelJob);
window.addEventListener("hashchange", () => openJobFromAddress({ focus: true }));
openJobFromAddress();
