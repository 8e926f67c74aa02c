/** Client-side account rules. */
import { describe, expect, it } from 'vitest';
import { validateLogin, validateSignup } from './validation';

describe('validateSignup', () => {
  it('accepts a valid account', () => {
    expect(validateSignup({ username: 'alice_01', email: 'a@example.com', password: '12345678' })).toEqual({});
  });

  it('names each broken field', () => {
    const errors = validateSignup({ username: 'al', email: 'example.com', password: '1234567' });
    expect(Object.keys(errors).sort()).toEqual(['email', 'password', 'username']);
  });

  it('applies the username rule after case folding', () => {
    expect(validateSignup({ username: 'ALICE', email: 'a@b', password: '12345678' })).toEqual({});
    expect(validateSignup({ username: 'a'.repeat(25), email: 'a@b', password: '12345678' }).username).toBeDefined();
    expect(validateSignup({ username: 'al-ice', email: 'a@b', password: '12345678' }).username).toBeDefined();
  });
});

describe('validateLogin', () => {
  it('asks for both fields', () => {
    expect(validateLogin({ login: ' ', password: '' })).toEqual({
      login: expect.any(String),
      password: expect.any(String),
    });
    expect(validateLogin({ login: 'alice', password: 'x' })).toEqual({});
  });
});
