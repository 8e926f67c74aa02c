/** Sign-up and log-in pages: labels, server field errors beside fields, redirects after success. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setUser } from '../session';
import { apiError, byTestId, json, stubApi } from '../test-support';
import { loginPage, signupPage } from './auth';

const realFetch = globalThis.fetch;
let root: HTMLElement;
let page: AbortController;
const user = { id: 'u1', username: 'alice', email: 'a@example.com', created_at: '2026-01-01T00:00:00Z' };

function fill(name: string, value: string) {
  byTestId<HTMLInputElement>(root, `${name}-input`).value = value;
}

function submit() {
  byTestId<HTMLFormElement>(root, root.querySelector('[data-testid="signup-form"]') ? 'signup-form' : 'login-form').dispatchEvent(
    new Event('submit', { cancelable: true }),
  );
}

beforeEach(() => {
  root = document.createElement('main');
  document.body.replaceChildren(root);
  page = new AbortController();
  history.replaceState(null, '', '/');
  setUser(null);
});

afterEach(() => {
  page.abort();
  globalThis.fetch = realFetch;
});

describe('signup page', () => {
  it('labels every field', () => {
    stubApi(() => apiError(401, 'unauthorized', 'no'));
    signupPage(root, page.signal);
    for (const name of ['username', 'email', 'password']) {
      const input = byTestId<HTMLInputElement>(root, `${name}-input`);
      expect(root.querySelector(`label[for="${input.id}"]`)?.textContent).toBeTruthy();
      expect(input.getAttribute('aria-describedby')).toContain(`error-${name}`);
    }
  });

  it('shows the server field error of a 409 beside the field', async () => {
    const api = stubApi((method, url) =>
      method === 'POST' && url === '/api/users'
        ? apiError(409, 'conflict', 'already exists', { username: 'already taken' })
        : apiError(401, 'unauthorized', 'no'),
    );
    signupPage(root, page.signal);
    fill('username', 'Alice');
    fill('email', 'a@example.com');
    fill('password', 'correct horse');
    submit();
    const error = byTestId(root, 'error-username');
    await vi.waitFor(() => expect(error.hidden).toBe(false));
    expect(error.textContent).toBe('already taken');
    expect(byTestId(root, 'username-input').getAttribute('aria-invalid')).toBe('true');
    expect(byTestId(root, 'error-email').hidden).toBe(true);
    // Usernames are case-folded before they are sent.
    expect(api.calls.find((c) => c.url === '/api/users')!.body).toEqual({
      username: 'alice',
      email: 'a@example.com',
      password: 'correct horse',
    });
  });

  it('checks the obvious rules before asking the server', () => {
    const api = stubApi(() => apiError(401, 'unauthorized', 'no'));
    signupPage(root, page.signal);
    fill('username', 'a!');
    fill('email', 'nope');
    fill('password', 'short');
    submit();
    expect(byTestId(root, 'error-username').hidden).toBe(false);
    expect(byTestId(root, 'error-email').hidden).toBe(false);
    expect(byTestId(root, 'error-password').hidden).toBe(false);
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });

  it('logs in after signing up and goes to the dashboard', async () => {
    const api = stubApi((method, url) => {
      if (method === 'POST' && url === '/api/users') return json(user, 201);
      if (method === 'POST' && url === '/api/users/login')
        return json({ access_token: 't', token_type: 'Bearer', expires_in: 900, user });
      return apiError(401, 'unauthorized', 'no');
    });
    signupPage(root, page.signal);
    fill('username', 'alice');
    fill('email', 'a@example.com');
    fill('password', 'correct horse');
    submit();
    await vi.waitFor(() => expect(location.pathname).toBe('/dashboard'));
    expect(api.calls.find((c) => c.url === '/api/users/login')!.body).toEqual({ login: 'alice', password: 'correct horse' });
    expect(localStorage.length).toBe(0);
  });
});

describe('login page', () => {
  it('shows the server message of a 401 as a form alert and clears the password', async () => {
    stubApi(() => apiError(401, 'unauthorized', 'Wrong username, email or password.'));
    loginPage(root, page.signal, null);
    fill('login', 'alice');
    fill('password', 'wrong-password');
    submit();
    const alert = byTestId(root, 'error-form');
    await vi.waitFor(() => expect(alert.hidden).toBe(false));
    expect(alert.getAttribute('role')).toBe('alert');
    expect(alert.textContent).toBe('Wrong username, email or password.');
    expect(byTestId<HTMLInputElement>(root, 'password-input').value).toBe('');
  });

  it('goes to the requested page after logging in', async () => {
    stubApi((method, url) =>
      method === 'POST' && url === '/api/users/login'
        ? json({ access_token: 't', token_type: 'Bearer', expires_in: 900, user })
        : apiError(401, 'unauthorized', 'no'),
    );
    loginPage(root, page.signal, '/watch/bob');
    fill('login', 'alice');
    fill('password', 'correct horse');
    submit();
    await vi.waitFor(() => expect(location.pathname).toBe('/watch/bob'));
  });
});
