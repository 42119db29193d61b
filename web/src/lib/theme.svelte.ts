// Light and dark themes: the system's choice until the user picks one.
export type Theme = 'light' | 'dark' | 'system';

export const theme = $state({ choice: (localStorage.getItem('vigil-theme') as Theme) || 'system' });

export function applyTheme(): void {
  const dark =
    theme.choice === 'dark' ||
    (theme.choice === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

export function setTheme(t: Theme): void {
  theme.choice = t;
  localStorage.setItem('vigil-theme', t);
  applyTheme();
}

matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
