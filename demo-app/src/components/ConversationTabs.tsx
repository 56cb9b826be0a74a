/** "My files" and the user's conversations: where uploads go, and whose files the gallery shows. */
export function ConversationTabs({ conversations, current, onSelect }: {
  conversations: readonly string[];
  current: string | null;
  onSelect: (conversation: string | null) => void;
}) {
  if (conversations.length === 0) return null;
  const tab = (id: string | null, label: string) => (
    <button
      key={id ?? ''}
      type="button"
      className={`button button--small ${current === id ? 'button--primary' : 'button--ghost'}`}
      aria-pressed={current === id}
      data-testid={id === null ? 'conversation-own' : `conversation-${id}`}
      onClick={() => onSelect(id)}
    >
      {label}
    </button>
  );
  return (
    <nav className="conversations" aria-label="Conversations">
      {tab(null, 'My files')}
      {conversations.map((id) => tab(id, `# ${id}`))}
    </nav>
  );
}
