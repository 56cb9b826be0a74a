import { describe, expect, it } from 'vitest';
import { conversationScope, conversationsOf, parseConversations } from './conversations.js';

describe('conversations', () => {
  it('parses a list separated by commas or spaces, without duplicates', () => {
    expect(parseConversations('team, random  team')).toEqual({ conversations: ['team', 'random'] });
    expect(parseConversations('')).toEqual({ conversations: [] });
    expect(parseConversations('team, with/slash')).toHaveProperty('problem');
  });

  it('are the conv: scopes of a token', () => {
    expect(conversationScope('team')).toBe('conv:team');
    expect(conversationsOf(['conv:team', 'org:1', 'conv:random'])).toEqual(['team', 'random']);
  });
});
