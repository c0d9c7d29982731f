// The list of recent narrations, each a link that opens the job on this page. It draws the jobs
// the store holds (store.js), so it shows what the job card shows, and a job started in another
// tab or over the API appears when the store's polling finds it.

import { timeAgo } from "./format.js";
import { STATUS_WORDS, jobTitle } from "./job.js";
import { jobsListed, recentJobs, refreshJobs, subscribe } from "./store.js";

const list = document.getElementById("recent");
const empty = document.getElementById("recent-empty");

/** Redraws the list; rows are kept by job id, so a link that has focus keeps it. */
function render() {
  const jobs = recentJobs();
  const template = document.getElementById("recent-template");
  const rows = new Map([...list.children].map((row) => [row.dataset.id, row]));
  list.replaceChildren(...jobs.map((job) => {
    const item = rows.get(job.id) ?? template.content.firstElementChild.cloneNode(true);
    item.dataset.id = job.id;
    const link = item.querySelector("a");
    link.href = `#job=${encodeURIComponent(job.id)}`;
    link.textContent = jobTitle(job);
    const badge = item.querySelector(".badge");
    badge.textContent = STATUS_WORDS[job.status] ?? job.status;
    badge.dataset.status = job.status;
    const time = item.querySelector("time");
    time.dateTime = job.created_at ?? "";
    time.textContent = job.created_at ? timeAgo(job.created_at) : "";
    return item;
  }));
  empty.hidden = !jobsListed() || jobs.length > 0;
}

/** Fetches the newest jobs now (the Refresh button; the store also polls on its own). */
export async function loadRecent() {
  await refreshJobs();
}

/** Wires the Refresh button and draws the list whenever the store changes. */
export function setUpRecent() {
  document.getElementById("refresh-recent").addEventListener("click", loadRecent);
  subscribe(render);
}
