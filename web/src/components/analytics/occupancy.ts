// Occupancy from zone_enter events: an open one is a track inside its zone.

export interface OccupancyEvent {
  camera: string;
  kind: string;
  zone: string | null;
  label: string;
  open: boolean;
}

export interface OccupancyRow {
  camera: string;
  zone: string;
  label: string;
  inside: number;
}

/** Open zone_enter events counted per camera, zone and label, by camera, zone, label. */
export function occupancyOf(events: readonly OccupancyEvent[]): OccupancyRow[] {
  const by = new Map<string, OccupancyRow>();
  for (const e of events) {
    if (!e.open || e.kind !== 'zone_enter' || !e.zone) continue;
    const k = `${e.camera}\u0000${e.zone}\u0000${e.label}`;
    const r = by.get(k);
    if (r) r.inside++;
    else by.set(k, { camera: e.camera, zone: e.zone, label: e.label, inside: 1 });
  }
  return [...by.values()].sort(
    (a, b) => a.camera.localeCompare(b.camera) || a.zone.localeCompare(b.zone) || a.label.localeCompare(b.label),
  );
}
