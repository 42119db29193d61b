// What the "Alerts on this device" filters offer: cameras from the API,
// zones and lines from each camera's rules (only the chosen cameras' when
// some are chosen), labels from the rules and from what was seen (the search
// facets) with a few common ones, and the event kinds.
import { KINDS } from '../../lib/push';

export interface RuleSet {
  zones: { id: string; labels?: string[] }[];
  lines: { id: string; labels?: string[] }[];
}

export interface Choices {
  cameras: string[];
  zones: string[];
  lines: string[];
  labels: string[];
  kinds: string[];
}

export const COMMON_LABELS = ['person', 'car', 'bicycle', 'motorcycle', 'bus', 'truck', 'dog', 'cat'];

const sorted = (s: Iterable<string>) => [...new Set(s)].sort((a, b) => a.localeCompare(b));

export function filterChoices(
  cameras: string[],
  rules: Record<string, RuleSet | undefined>,
  seenLabels: string[],
  chosenCameras: string[] = [],
): Choices {
  const from = chosenCameras.length ? cameras.filter((c) => chosenCameras.includes(c)) : cameras;
  const zones: string[] = [];
  const lines: string[] = [];
  const labels = [...COMMON_LABELS, ...seenLabels];
  for (const cam of cameras) {
    const r = rules[cam];
    if (!r) continue;
    for (const z of r.zones) labels.push(...(z.labels ?? []));
    for (const l of r.lines) labels.push(...(l.labels ?? []));
    if (!from.includes(cam)) continue;
    zones.push(...r.zones.map((z) => z.id));
    lines.push(...r.lines.map((l) => l.id));
  }
  return {
    cameras: sorted(cameras),
    zones: sorted(zones),
    lines: sorted(lines),
    labels: sorted(labels.filter(Boolean)),
    kinds: [...KINDS],
  };
}

/** Keeps only the chosen values still offered (a camera deselected drops its zones). */
export function keepOffered(chosen: string[], offered: string[]): string[] {
  return chosen.filter((c) => offered.includes(c));
}
