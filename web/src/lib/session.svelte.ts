// Who is signed in (GET /api/v1/auth/me), shared by every page.
import { api, ApiError, setCsrf, setUnauthorizedHandler } from './api';

export type Role = 'viewer' | 'operator' | 'admin';

export interface Me {
  user: string;
  role: Role;
  auth: 'session' | 'token' | 'setup' | 'disabled';
  can_write: boolean;
  csrf_token?: string;
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export const session = $state({
  me: null as Me | null,
  /** 'loading' until the first /auth/me answers */
  state: 'loading' as 'loading' | 'signed-out' | 'signed-in' | 'setup' | 'error',
  error: '',
});

export function hasRole(least: Role): boolean {
  const me = session.me;
  if (!me) return false;
  if (me.auth === 'disabled') return true;
  return RANK[me.role] >= RANK[least] && (least === 'viewer' || me.can_write);
}

export function signedIn(me: Me): void {
  // the sign-in reply (SignedIn) has no can_write: a session can always write
  session.me = { ...me, can_write: me.can_write ?? me.auth === 'session' };
  session.state = 'signed-in';
  setCsrf(me.csrf_token);
}

export function signedOut(): void {
  session.me = null;
  session.state = 'signed-out';
  setCsrf('');
}

setUnauthorizedHandler(() => signedOut());

/** Asks the server who we are; shows setup when no user exists yet. The
 * public /auth/setup says whether this browser is signed in, so /auth/me is
 * asked only then (no 401 in the console on the sign-in page). */
export async function refreshSession(): Promise<void> {
  try {
    const setup = await api.get<{ needed: boolean; signed_in?: boolean }>('/api/v1/auth/setup');
    if (!setup.signed_in) {
      session.me = null;
      session.state = setup.needed ? 'setup' : 'signed-out';
      return;
    }
    signedIn(await api.get<Me>('/api/v1/auth/me'));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      signedOut();
      return;
    }
    session.state = 'error';
    session.error = e instanceof Error ? e.message : String(e);
  }
}

export async function signOut(): Promise<void> {
  try {
    await api.post('/api/v1/auth/logout');
  } finally {
    signedOut();
  }
}
