// The list of recent narrations, each a link that opens the job on this page.

import { apiUrl, requestJson } from "./api.js";
import { timeAgo } from "./format.js";
import { STATUS_WORDS, jobTitle } from "./job.js";

const list = document.getElementById("recent");
const empty = document.getElementById("recent-empty");

/** Fetches the ten newest jobs and lists them; a failure leaves the old list in place. */
export async function loadRecent() {
  let data;
  try {
    data = await requestJson(apiUrl("/narrations?limit=10"));
  } catch {
    return;
  }
  // The list may come bare or wrapped with a pagination cursor.
  const jobs = Array.isArray(data) ? data : data?.narrations ?? data?.items ?? data?.data ?? [];
  const template = document.getElementById("recent-template");
  list.replaceChildren(...jobs.map((job) => {
    const item = template.content.firstElementChild.cloneNode(true);
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
  empty.hidden = jobs.length > 0;
}

/** Empties the list, when the user signs out. */
export function forgetRecent() {
  list.replaceChildren();
}

/** Wires the Refresh button (the list loads once the page is signed in). */
export function setUpRecent() {
  document.getElementById("refresh-recent").addEventListener("click", loadRecent);
}
