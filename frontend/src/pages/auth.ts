/**
 * `/signup` and `/login`.
 *
 * Signing up does not open a session (`POST /api/users` answers 201 with the user and sets no
 * cookie), so after a successful sign-up the page logs in with the same credentials and goes to
 * the dashboard. Login relies on the HttpOnly cookie the server sets; the `access_token` in its
 * answer is for API clients and is deliberately not kept.
 */
import { api } from '../api/endpoints';
import { ApiError, isAbortError } from '../api/error';
import { h, replace } from '../dom';
import { navigate } from '../router';
import { currentUser, setUser } from '../session';
import { busy, field, formAlert, FormErrors } from '../ui/forms';
import { validateLogin, validateSignup } from '../validation';

export function signupPage(root: HTMLElement, signal: AbortSignal): void {
  document.title = 'Sign up — ferrocast';
  redirectIfLoggedIn(signal, '/dashboard');

  const username = field({
    name: 'username',
    label: 'Username',
    autocomplete: 'username',
    hint: '3–24 characters: lowercase letters, digits and underscores. It is your channel address.',
  });
  const email = field({ name: 'email', label: 'Email', type: 'email', autocomplete: 'email' });
  const password = field({
    name: 'password',
    label: 'Password',
    type: 'password',
    autocomplete: 'new-password',
    hint: 'At least 8 characters.',
  });
  username.input.setAttribute('autocapitalize', 'none');
  username.input.setAttribute('spellcheck', 'false');
  const alert = formAlert();
  const errors = new FormErrors({ username, email, password }, alert);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'submit' }, 'Create account');

  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'signup-heading', 'data-testid': 'signup-form' },
    alert,
    username.element,
    email.element,
    password.element,
    submit,
  );
  replace(
    root,
    h(
      'section',
      { class: 'page page-narrow' },
      h('h1', { id: 'signup-heading', tabindex: -1 }, 'Create your account'),
      h('p', { class: 'page-sub' }, 'Then create a stream key and go live from OBS.'),
      form,
      h('p', { class: 'form-switch' }, 'Already have an account? ', h('a', { href: '/login' }, 'Log in')),
    ),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = {
      username: username.input.value.trim().toLowerCase(),
      email: email.input.value.trim(),
      password: password.input.value,
    };
    const invalid = validateSignup(values);
    if (Object.keys(invalid).length) {
      errors.showFields(invalid);
      return;
    }
    void busy(submit, async () => {
      errors.clear();
      try {
        await api.signup(values, signal);
      } catch (error) {
        if (!isAbortError(error)) errors.showApiError(error);
        return;
      }
      try {
        const session = await api.login({ login: values.username, password: values.password }, signal);
        setUser(session.user);
        navigate('/dashboard');
      } catch (error) {
        // The account exists; let the visitor log in by hand.
        if (!isAbortError(error)) navigate('/login');
      }
    });
  });
}

export function loginPage(root: HTMLElement, signal: AbortSignal, next: string | null): void {
  document.title = 'Log in — ferrocast';
  const destination = next ?? '/dashboard';
  redirectIfLoggedIn(signal, destination);

  const login = field({ name: 'login', label: 'Username or email', autocomplete: 'username' });
  login.input.setAttribute('autocapitalize', 'none');
  login.input.setAttribute('spellcheck', 'false');
  const password = field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' });
  const alert = formAlert();
  const errors = new FormErrors({ login, password }, alert);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'submit' }, 'Log in');

  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'login-heading', 'data-testid': 'login-form' },
    alert,
    login.element,
    password.element,
    submit,
  );
  replace(
    root,
    h(
      'section',
      { class: 'page page-narrow' },
      h('h1', { id: 'login-heading', tabindex: -1 }, 'Log in'),
      form,
      h('p', { class: 'form-switch' }, 'New to ferrocast? ', h('a', { href: '/signup' }, 'Create an account')),
    ),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = { login: login.input.value.trim(), password: password.input.value };
    const invalid = validateLogin(values);
    if (Object.keys(invalid).length) {
      errors.showFields(invalid);
      return;
    }
    void busy(submit, async () => {
      errors.clear();
      try {
        const session = await api.login(values, signal);
        setUser(session.user);
        navigate(destination);
      } catch (error) {
        if (isAbortError(error)) return;
        errors.showApiError(error);
        // A wrong password (401) has no field errors: clear it and put the cursor back there.
        if (!(error instanceof ApiError && Object.keys(error.fields).length)) {
          password.input.value = '';
          password.input.focus();
        }
      }
    });
  });
}

function redirectIfLoggedIn(signal: AbortSignal, to: string): void {
  void currentUser().then((user) => {
    if (user && !signal.aborted) navigate(to, { replace: true });
  });
}
