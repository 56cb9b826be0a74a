/**
 * Conversations, as a chat app embedding Haul would have them: each is a scope (`conv:<id>`), the
 * upload metadata that makes a file readable by everyone in the conversation. In the demo the
 * dev token says which conversations its user belongs to (its `scopes` claim).
 */
export const CONVERSATION_PATTERN = /^[A-Za-z0-9._-]{1,40}$/;
const MAX_CONVERSATIONS = 20;

export const conversationScope = (id: string) => `conv:${id}`;

/** "team, random" → ["team", "random"], or why not. */
export function parseConversations(text: string): { conversations: string[] } | { problem: string } {
  const ids = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
  const bad = ids.find((id) => !CONVERSATION_PATTERN.test(id));
  if (bad !== undefined) return { problem: `"${bad.slice(0, 40)}" is not a conversation name: use letters, digits and . _ - (up to 40).` };
  if (ids.length > MAX_CONVERSATIONS) return { problem: `At most ${MAX_CONVERSATIONS} conversations.` };
  return { conversations: ids };
}

/** The conversations a token's scopes name (`conv:<id>` entries). */
export const conversationsOf = (scopes: readonly string[]) =>
  scopes.filter((s) => s.startsWith('conv:')).map((s) => s.slice('conv:'.length)).filter((id) => CONVERSATION_PATTERN.test(id));
