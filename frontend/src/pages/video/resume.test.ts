import { describe, expect, it } from 'vitest';
import { savedPosition, savePosition } from './resume';

function memory(): Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> {
  const map = new Map<string, string>();
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

describe('resume position', () => {
  it('keeps where the viewer was, per video', () => {
    const store = memory();
    savePosition(store, 'a', 42.7, 120);
    savePosition(store, 'b', 10, 120);
    expect(savedPosition(store, 'a', 120)).toBe(42);
    expect(savedPosition(store, 'b', 120)).toBe(10);
    expect(savedPosition(store, 'c', 120)).toBe(0);
  });

  it('forgets the very start and the end, and never seeks past a shorter video', () => {
    const store = memory();
    savePosition(store, 'a', 42, 120);
    savePosition(store, 'a', 118, 120);
    expect(savedPosition(store, 'a', 120)).toBe(0);
    savePosition(store, 'a', 3, 120);
    expect(savedPosition(store, 'a', 120)).toBe(0);
    savePosition(store, 'a', 60, 120);
    expect(savedPosition(store, 'a', 30)).toBe(0);
    savePosition(store, 'a', Number.NaN, 120);
    expect(savedPosition(store, 'a', 120)).toBe(60);
  });

  it('survives a storage that refuses', () => {
    const refusing = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
      removeItem: () => {
        throw new Error('denied');
      },
    };
    expect(() => savePosition(refusing, 'a', 42, 120)).not.toThrow();
    expect(savedPosition(refusing, 'a', 120)).toBe(0);
  });
});
