/**
 * Client-side mirrors of the account rules (ARCHITECTURE.md, "Users"), checked before a request
 * so the common mistakes are answered instantly. The server stays the authority: its 422/409
 * field errors land in the same places (ui/forms.ts).
 */
import type { FieldErrors } from './api/error';

export const USERNAME_RULE = /^[a-z0-9_]{3,24}$/;
export const MIN_PASSWORD = 8;

export function validateSignup(values: { username: string; email: string; password: string }): FieldErrors {
  const errors: FieldErrors = {};
  const username = values.username.trim().toLowerCase();
  if (!username) errors.username = 'Choose a username.';
  else if (!USERNAME_RULE.test(username))
    errors.username = 'Use 3–24 characters: lowercase letters, digits and underscores.';
  const email = values.email.trim();
  if (!email) errors.email = 'Enter your email address.';
  else if (!/^[^\s@]+@[^\s@]+$/.test(email)) errors.email = 'Enter a valid email address.';
  if (values.password.length < MIN_PASSWORD) errors.password = `Use at least ${MIN_PASSWORD} characters.`;
  return errors;
}

export function validateLogin(values: { login: string; password: string }): FieldErrors {
  const errors: FieldErrors = {};
  if (!values.login.trim()) errors.login = 'Enter your username or email.';
  if (!values.password) errors.password = 'Enter your password.';
  return errors;
}
