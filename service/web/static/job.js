// A narration job: following it live and drawing its per-chapter progress.

import { apiUrl, requestJson } from "./api.js";
import { roughDuration, clock } from "./format.js";

const TERMINAL = new Set(["done", "failed", "canceled"]);
export const STATUS_WORDS = { queued: "Waiting", running: "Narrating", done: "Ready", failed: "Failed", canceled: "Canceled" };

/** True when a job will not change any more. */
export function isTerminal(job) {
  return TERMINAL.has(job.status);
}

/** The job's own URL: from its links when given, built from its id otherwise. */
export function jobUrl(job) {
  return job.links?.self ?? apiUrl(`/narrations/${encodeURIComponent(job.id)}`);
}

/**
 * Calls onUpdate with each new state of the job until it ends. Server-Sent Events first; if the
 * stream fails (a proxy that buffers, a dropped connection) it polls once a second instead.
 * Returns a function that stops following.
 */
export function followJob(job, { onUpdate, onError }) {
  let stopped = false;
  let source = null;
  let timer = null;

  const stop = () => {
    stopped = true;
    source?.close();
    clearTimeout(timer);
  };
  const update = (next) => {
    if (stopped) return;
    onUpdate(next);
    if (isTerminal(next)) stop();
  };
  const poll = async () => {
    if (stopped) return;
    try {
      update(await requestJson(jobUrl(job)));
    } catch (error) {
      if (error.status >= 400 && error.status < 500) {
        stop();
        onError(error);
        return;
      }
      // A network blip or a 5xx: keep polling, the next second may work.
    }
    if (!stopped) timer = setTimeout(poll, 1000);
  };
  const fallBackToPolling = () => {
    source?.close();
    source = null;
    poll();
  };

  if (!("EventSource" in window)) {
    poll();
    return stop;
  }
  source = new EventSource(job.links?.events ?? `${jobUrl(job)}/events`);
  source.addEventListener("progress", (event) => {
    const next = parseJson(event.data);
    if (next) update(next);
  });
  // "end" normally carries the final state; if not, one GET fetches it (and polls on if not final).
  source.addEventListener("end", (event) => {
    const last = parseJson(event.data);
    if (last?.status && isTerminal(last)) update(last);
    else fallBackToPolling();
  });
  source.addEventListener("error", () => { if (!stopped) fallBackToPolling(); });
  return stop;
}

/** JSON from an event's data, or null when there is none. */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** One sentence about where the job is, for the live status line; it changes only with the status. */
export function describeJob(job) {
  const words = STATUS_WORDS[job.status] ?? job.status;
  if (job.status === "running") return `${words}…`;
  if (job.status === "done") return job.duration ? `${words}: ${clock(job.duration)} of audio.` : `${words}.`;
  if (job.status === "failed") return `${words}: ${job.error?.message ?? "the narration stopped."}`;
  if (job.status === "queued") return `${words} for a worker…`;
  return `${words}.`;
}

/** Percent and time left, shown beside the bar but not announced (it changes every sentence). */
export function describeProgress(job) {
  const progress = job.progress ?? {};
  if (job.status !== "running") return "";
  const eta = progress.eta_seconds != null ? ` · about ${roughDuration(progress.eta_seconds)} left` : "";
  return `${Math.round(progress.percent ?? 0)}% done${eta}`;
}

/** What to call a job: its title, else its first chapter's, so untitled jobs stay distinguishable. */
export function jobTitle(job) {
  return job.title || job.chapters?.find((chapter) => chapter.title)?.title || "Untitled narration";
}

/** The chapter's name as shown: its title, or its number when it has none (an untitled opening). */
export function chapterName(chapter) {
  return chapter.title || `Chapter ${chapter.index + 1}`;
}

/** Draws or updates the chapter rows; rows are kept, so focus on a Play button survives updates. */
export function renderChapters(list, job, preview) {
  const template = document.getElementById("chapter-template");
  for (const chapter of job.chapters ?? []) {
    let row = list.querySelector(`[data-index="${chapter.index}"]`);
    if (!row) {
      row = template.content.firstElementChild.cloneNode(true);
      row.dataset.index = chapter.index;
      list.append(row);
    }
    const name = chapterName(chapter);
    row.dataset.status = chapter.status;
    row.querySelector(".chapter-title").textContent = `${chapter.index + 1}. ${name}`;
    row.querySelector(".badge").textContent = STATUS_WORDS[chapter.status] ?? chapter.status;
    const bar = row.querySelector("progress");
    bar.max = Math.max(1, chapter.sentences_total ?? 1);
    bar.value = chapter.sentences_done ?? 0;
    bar.setAttribute("aria-label", `Progress of ${name}`);
    row.querySelector(".chapter-count").textContent =
      `${chapter.sentences_done ?? 0} of ${chapter.sentences_total ?? "?"} sentences`;
    const play = row.querySelector(".play");
    if (chapter.audio && play.hidden) {
      play.hidden = false;
      play.dataset.name = name;
      play.setAttribute("aria-label", `Play ${name}`);
      play.addEventListener("click", () => preview.toggle(chapter.audio, play));
    }
  }
}

/** Draws the job's heading, status line and overall progress bar. */
export function renderSummary(job) {
  document.getElementById("job-heading").textContent = jobTitle(job);
  const status = document.getElementById("job-status");
  const sentence = describeJob(job);
  // Only rewrite the live region when the words change, so screen readers are not flooded.
  if (status.textContent !== sentence) status.textContent = sentence;
  status.dataset.status = job.status;
  document.getElementById("job-detail").textContent = describeProgress(job);
  const bar = document.getElementById("job-progress");
  bar.value = job.status === "done" ? 100 : job.progress?.percent ?? 0;
  bar.hidden = isTerminal(job) && job.status !== "done";
  document.getElementById("cancel").hidden = isTerminal(job);
}
