// The one place the page keeps jobs. The job card, the recent list and the feed card all draw
// from here, and every new state (the form's POST, the followed job's event stream, the list
// that is polled, a cancel) comes in through `putJob`, so the three never disagree: each change
// redraws all of them in the same task.

import { apiUrl, requestJson } from "./api.js";

const TERMINAL = new Set(["done", "failed", "canceled"]);
const POLL_BUSY_MS = 2000; // while a job is queued or running: progress shows in every card
const POLL_IDLE_MS = 5000; // otherwise: a job started in another tab or over the API shows soon
const RECENT = 10;

const jobs = new Map(); // id → { job, asOf }: the newest state seen, and when it was asked for
const listeners = new Set();
const newJobHooks = [];
let timer = null;
let polling = false;
let listed = false; // the list has been fetched at least once since signing in
let session = 0; // bumped on signing out, so a list still on its way is not stored after it

/**
 * Stores a job's state as of `asOf` (when it was asked for, in ms) and redraws. A state asked
 * for earlier than the one held is dropped: a slow list response must not undo a newer event.
 */
export function putJob(job, asOf = Date.now()) {
  if (!job?.id) return;
  const held = jobs.get(job.id);
  if (held && held.asOf > asOf) return;
  jobs.set(job.id, { job, asOf });
  notify();
}

/** The newest state held of a job, or undefined. */
export function getJob(id) {
  return jobs.get(id)?.job;
}

/** The newest jobs, newest first, as the recent list shows them. */
export function recentJobs() {
  return [...jobs.values()].map((entry) => entry.job)
    .sort((a, b) => (b.created_at ?? "").localeCompare(a.created_at ?? ""))
    .slice(0, RECENT);
}

/** True once the list of jobs was fetched, so an empty store means "no narrations yet". */
export function jobsListed() {
  return listed;
}

/** True while some job held is queued or running. */
export function anyActive() {
  return [...jobs.values()].some((entry) => !TERMINAL.has(entry.job.status));
}

/** Calls `listener()` after every change; returns a function that stops it. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify() {
  for (const listener of listeners) listener();
}

/**
 * Registers `hook(jobs)`, awaited before jobs the store has not held yet are stored from the
 * list, so what a card needs to know about them (which feed they are in) arrives first.
 */
export function whenNewJobs(hook) {
  newJobHooks.push(hook);
}

/** Asks the API for the newest jobs and stores them; false when the request failed. */
export async function refreshJobs() {
  const asOf = Date.now();
  const asked = session;
  let data;
  try {
    data = await requestJson(apiUrl(`/narrations?limit=${RECENT}`));
  } catch {
    return false;
  }
  const list = Array.isArray(data) ? data : data?.narrations ?? [];
  const fresh = list.filter((job) => !jobs.has(job.id));
  if (fresh.length) await Promise.all(newJobHooks.map((hook) => hook(fresh).catch(() => {})));
  if (asked !== session) return false; // signed out meanwhile
  let changed = !listed;
  listed = true;
  for (const job of list) {
    const held = jobs.get(job.id);
    if (held && held.asOf > asOf) continue;
    // An unchanged job is not redrawn: the cards only change when the job does.
    if (!held || JSON.stringify(held.job) !== JSON.stringify(job)) changed = true;
    jobs.set(job.id, { job, asOf });
  }
  if (changed) notify();
  return true;
}

/** Polls the list while the page is signed in and visible: faster while a job is running. */
export function startPolling() {
  polling = true;
  schedule(0);
}

/** Stops polling and forgets every job (signing out). */
export function stopPolling({ forget = false } = {}) {
  polling = false;
  clearTimeout(timer);
  if (forget) {
    session += 1;
    jobs.clear();
    listed = false;
    notify();
  }
}

function schedule(delay) {
  clearTimeout(timer);
  if (!polling) return;
  timer = setTimeout(async () => {
    if (!document.hidden) await refreshJobs();
    schedule(anyActive() ? POLL_BUSY_MS : POLL_IDLE_MS);
  }, delay);
}

// Coming back to the tab: look at once instead of waiting for the next round.
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && polling) schedule(0);
});
