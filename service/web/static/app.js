// The page's entry point: sign in, submit a text, follow the job, listen when it is ready.
// Every job state goes into the store (store.js); the job card, the recent list and the feed
// card are drawn from it.

import { apiUrl, requestJson, newIdempotencyKey, whenUnauthorized } from "./api.js";
import { renderCheck, renderNames, setUpChecks } from "./checks.js";
import { forgetFeeds, loadFeeds, noteNarrationAgain, noteNarrationFeed, setUpFeeds } from "./feeds.js";
import { setUpForm, setBusy, showApiError } from "./form.js";
import { followJob, isTerminal, jobUrl, renderChapters, renderSummary } from "./job.js";
import { PreviewPlayer, loadEpisode, resetEpisode } from "./player.js";
import { setUpRecent } from "./recent.js";
import { forgetVoices, loadVoices, setUpVoices } from "./voices.js";
import {
  askForKey, closeSession, openSession, setUpSignIn, showSession, showSignedInAs, takeKeyFromAddress, whoIsSignedIn,
} from "./session.js";
import { getJob, putJob, startPolling, stopPolling, subscribe } from "./store.js";

const jobSection = document.getElementById("job");
const chapterList = document.getElementById("chapters");
const preview = new PreviewPlayer();

let current = { id: null, stop: () => {}, episodeLoaded: false };
// One key per distinct request, so a retried submission (a dropped connection) never makes a second job.
let pending = { body: "", key: "" };
// The same for narrating a job again: one key per job narrated again, until it is made.
let pendingAgain = { id: "", key: "" };

/** Sends the form's body as a new narration and opens the job it makes. */
async function submit(body) {
  const serialized = JSON.stringify(body);
  if (pending.body !== serialized) pending = { body: serialized, key: newIdempotencyKey() };
  setBusy(true);
  try {
    const sent = Date.now();
    const job = await requestJson(apiUrl("/narrations"), {
      method: "POST",
      body,
      headers: { "Idempotency-Key": pending.key },
    });
    pending = { body: "", key: "" };
    noteNarrationFeed(job.id, body.feed);
    openNewJob(job, sent);
  } catch (error) {
    showApiError(error);
  } finally {
    setBusy(false);
  }
}

/** Shows a job just made (its state as of `sent`), names it in the address and moves focus to it. */
function openNewJob(job, sent) {
  history.replaceState(null, "", `#job=${encodeURIComponent(job.id)}`);
  showJob(job, sent);
  document.getElementById("job-heading").focus();
}

/** Shows a job (its state as of `asOf`) in the job card and follows it until it ends. */
function showJob(job, asOf = Date.now()) {
  if (current.id !== job.id) {
    current.stop();
    preview.reset();
    resetEpisode();
    chapterList.replaceChildren();
    current = { id: job.id, stop: () => {}, episodeLoaded: false };
  }
  jobSection.hidden = false;
  putJob(job, asOf);
  drawJob();
  current.stop(); // never two followers for one job (an idempotent replay returns the same job)
  const held = getJob(job.id);
  if (!isTerminal(held)) {
    current.stop = followJob(held, {
      onUpdate: (next) => putJob(next),
      onError: (error) => { document.getElementById("job-status").textContent = error.message; },
    });
  }
}

/** Draws the job card from the store (after every change); loads the episode once it is done. */
function drawJob() {
  const job = current.id && getJob(current.id);
  if (!job) return;
  renderSummary(job);
  renderChapters(chapterList, job, preview);
  renderCheck(job);
  renderNames(job);
  if (job.status === "done" && !current.episodeLoaded) {
    current.episodeLoaded = true;
    loadEpisode(job);
  }
  if (isTerminal(job)) current.stop(); // the list's polling may have seen the end first
}

/** Narrates the job shown again as a new narration, made by the service from what the job was
 * sent as (so any job of yours, however it was sent): lexicon entries added since apply to it,
 * and the sentence cache makes only the sentences they touch narrate anew. Then shows it. */
async function narrateAgain() {
  const id = current.id;
  if (!id) return;
  if (pendingAgain.id !== id) pendingAgain = { id, key: newIdempotencyKey() };
  const sent = Date.now();
  const job = await requestJson(apiUrl(`/narrations/${encodeURIComponent(id)}/again`), {
    method: "POST", headers: { "Idempotency-Key": pendingAgain.key },
  });
  pendingAgain = { id: "", key: "" };
  noteNarrationAgain(job.id, id);
  openNewJob(job, sent);
}

/** Opens the job named in the address (#job=<id>), so a reload or a shared link shows it again. */
async function openJobFromAddress({ focus = false, again = false } = {}) {
  const match = location.hash.match(/^#job=([\w-]+)$/);
  if (!match || (match[1] === current.id && !again)) return;
  try {
    const asked = Date.now();
    showJob(await requestJson(apiUrl(`/narrations/${match[1]}`)), asked);
  } catch (error) {
    if (error.status === 401) return; // the sign-in form is up; the job opens after signing in
    showMissingJob(error.message);
  }
  // Chosen from the recent list: take keyboard and screen-reader users to what opened.
  if (focus) document.getElementById("job-heading").focus();
}

/** Stops following the job shown and empties the job section. */
function clearJob() {
  current.stop();
  preview.reset();
  resetEpisode();
  chapterList.replaceChildren();
  current = { id: null, stop: () => {}, episodeLoaded: false };
}

/** Says that the job in the address cannot be shown, and clears what the page showed before. */
function showMissingJob(message) {
  clearJob();
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
    const asked = Date.now();
    const job = await requestJson(jobUrl({ id: current.id }), { method: "DELETE" });
    if (job?.id) putJob(job, asked);
  } catch (error) {
    document.getElementById("job-status").textContent = error.message;
  }
}

/** Loads what belongs to the signed-in user; false when a 401 left the sign-in form showing. */
async function loadSignedIn() {
  if (!(await loadFeeds())) return false;
  showSession("in");
  whoIsSignedIn().then(showSignedInAs, () => showSignedInAs(null));
  startPolling();
  loadVoices();
  openJobFromAddress({ again: true }); // a job whose following a 401 stopped is followed again
  return true;
}

/** Signs in with the key of a sign-in link (`#key=…`, as `narrator up` prints); false if refused. */
async function signInFromAddress() {
  const key = takeKeyFromAddress();
  if (key === null) return true;
  try {
    if (!(await switchingAgreed(key))) return true; // stays signed in as before
    await openSession(key);
    return true;
  } catch (error) {
    askForKey({ error: `The key in the sign-in link did not work. ${error.message}` });
    return false;
  }
}

/**
 * A sign-in link opened in a tab that is already signed in: another user's link must not switch
 * accounts silently (the narrations made next would land in that user's feed), so the page asks.
 */
async function switchingAgreed(key) {
  const current = await whoIsSignedIn();
  if (!current) return true; // not signed in: nothing to switch away from
  const incoming = await whoIsSignedIn(key); // a refused key throws: "did not work"
  if (incoming.id === current.id) return true;
  const agreed = window.confirm(
    `You are signed in as ${current.name}. This link signs in as ${incoming.name} instead: ` +
    `what you narrate next would go to ${incoming.name}'s podcast feed.\n\n` +
    `Switch to ${incoming.name}?`);
  if (!agreed) document.getElementById("session-error").textContent = `You are still signed in as ${current.name}.`;
  return agreed;
}

/** A 401 from any call: the session is gone (or never was), so the page asks for a key. */
function onUnauthorized() {
  const state = document.body.dataset.session;
  if (state === "out") return; // already asking; keep the message shown
  current.stop();
  stopPolling();
  askForKey({ notice: state === "in" ? "Your session has ended (the key was revoked, or you signed out elsewhere). Sign in again." : "" });
}

/** Signs this browser out and takes the user's things off the page. */
async function signOut() {
  try {
    await closeSession();
  } catch (error) {
    document.getElementById("session-error").textContent = error.message;
    return;
  }
  document.getElementById("session-error").textContent = "";
  showSignedInAs(null);
  clearJob();
  jobSection.hidden = true;
  stopPolling({ forget: true });
  forgetFeeds();
  forgetVoices();
  history.replaceState(null, "", location.pathname + location.search);
  askForKey({ notice: "You are signed out." });
}

/** The address changed: a pasted sign-in link signs in, a #job=… link opens that job. */
async function onAddressChange() {
  if (location.hash.startsWith("#key=")) {
    if (await signInFromAddress()) loadSignedIn();
    return;
  }
  openJobFromAddress({ focus: true });
}

whenUnauthorized(onUnauthorized);
setUpSignIn(async () => {
  if (await loadSignedIn()) document.getElementById("text").focus();
});
setUpForm(submit);
setUpFeeds();
setUpRecent();
setUpVoices();
setUpChecks(narrateAgain);
subscribe(drawJob);
document.getElementById("cancel").addEventListener("click", cancelJob);
document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", onAddressChange);
// The sign-in link goes first: the other calls need the cookie it sets.
if (await signInFromAddress()) loadSignedIn();
