// The dashboard's pages: path, title, the least role that sees it, and its
// component, loaded on first visit (each page is its own chunk, so the first
// page stays small).
import type { Component } from 'svelte';
import type { Role } from './session.svelte';

export interface Page {
  path: string;
  title: string;
  least: Role;
  load: () => Promise<{ default: Component }>;
}

export const pages: Page[] = [
  { path: '/live', title: 'Live', least: 'viewer', load: () => import('../pages/Live.svelte') },
  { path: '/review', title: 'Review', least: 'viewer', load: () => import('../pages/Review.svelte') },
  { path: '/search', title: 'Search', least: 'viewer', load: () => import('../pages/Search.svelte') },
  { path: '/analytics', title: 'Analytics', least: 'viewer', load: () => import('../pages/Analytics.svelte') },
  { path: '/cameras', title: 'Cameras', least: 'viewer', load: () => import('../pages/Cameras.svelte') },
  { path: '/zones', title: 'Zones & lines', least: 'viewer', load: () => import('../pages/Zones.svelte') },
  { path: '/system', title: 'System', least: 'viewer', load: () => import('../pages/System.svelte') },
  { path: '/account', title: 'Account', least: 'viewer', load: () => import('../pages/Account.svelte') },
];
