// Times and durations as people read them.

/** "1:05" or "1:02:03", the way audio players show positions. */
export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

/** "45 s" or "3 min", for an estimate where precision would be false. */
export function roughDuration(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  return `${Math.round(seconds / 60)} min`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const steps = [["day", 86400], ["hour", 3600], ["minute", 60]];

/** "5 minutes ago", so a list of recent jobs reads naturally. */
export function timeAgo(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  if (Number.isNaN(seconds)) return "";
  for (const [unit, size] of steps) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(0, "minute");
}
