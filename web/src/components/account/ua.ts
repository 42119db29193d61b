// A session's user agent in a few words, for the Account page.

/** "Chrome 131 on Linux" from a user agent, or the agent itself. */
export function browserOf(ua: string): string {
  if (!ua) return 'unknown client';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iOS'
      : /Mac OS X/.test(ua)
        ? 'macOS'
        : /Windows/.test(ua)
          ? 'Windows'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  let b = ua.split(' ')[0];
  const safari = ua.match(/Version\/(\d+)[^ ]* (Mobile\/\S+ )?Safari\//);
  for (const [key, name] of [
    ['Edg', 'Edge'],
    ['Firefox', 'Firefox'],
    ['HeadlessChrome', 'Headless Chrome'],
    ['Chrome', 'Chrome'],
  ]) {
    const m = ua.match(new RegExp(`${key}/(\\d+)`));
    if (m) {
      b = `${name} ${m[1]}`;
      break;
    }
    if (key === 'Chrome' && safari) b = `Safari ${safari[1]}`;
  }
  return os ? `${b} on ${os}` : b;
}
