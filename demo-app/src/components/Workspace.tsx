import { useCallback, useEffect, useRef, useState } from 'react';
import type { UploadJson } from '@haul/client';
import { E2EKeysProvider } from '../hooks/e2e-keys.js';
import { useNotices } from '../hooks/notices.js';
import { useSession } from '../hooks/session.js';
import { useGallery } from '../hooks/use-gallery.js';
import { useUppyBridge } from '../hooks/use-uppy-bridge.js';
import { loadSettings, saveSettings, type UploadSettings } from '../lib/settings.js';
import { applySettings, createUppy } from '../lib/uppy.js';
import { statusAnnouncement } from '../lib/upload-status.js';
import { conversationScope } from '../lib/conversations.js';
import { ConversationTabs } from './ConversationTabs.js';
import { Gallery } from './Gallery.js';
import { UploadPanel } from './UploadPanel.js';

/**
 * The signed-in page: the uploader beside the gallery of what the server holds — the user's own
 * files, or a conversation's (uploads made there are shared with its members).
 */
export function Workspace() {
  const { client, config, credentials } = useSession();
  const { announce, report } = useNotices();
  const [settings, setSettings] = useState<UploadSettings>(loadSettings);
  // The page owns one Uppy for the whole session (React only renders it), created with the
  // settings of the moment; later changes go through applySettings. Its id starts every resume
  // fingerprint: brackets (never in a user name) keep "alice" from matching "alice-b"'s entries.
  const [uppy] = useState(() => createUppy({ id: `haul-${credentials.mode}[${encodeURIComponent(credentials.user)}]`, config, client, settings }));

  useEffect(() => {
    saveSettings(settings);
    applySettings(uppy, client, config, settings);
  }, [uppy, client, config, settings]);

  const [conversation, setConversation] = useState<string | null>(null);
  const scope = conversation === null ? undefined : conversationScope(conversation);
  // Files added while a conversation is open are uploaded into it (their `scope` metadata).
  const scopeRef = useRef(scope);
  scopeRef.current = scope;
  useEffect(() => {
    const onAdded = (file: { id: string }) => {
      if (scopeRef.current !== undefined) uppy.setFileMeta(file.id, { scope: scopeRef.current });
    };
    uppy.on('file-added', onAdded);
    return () => {
      uppy.off('file-added', onAdded);
    };
  }, [uppy]);

  const onStatusChange = useCallback((upload: UploadJson) => announce(statusAnnouncement(upload)), [announce]);
  const gallery = useGallery(client, { scope, onStatusChange, onProblem: report });
  const live = useUppyBridge(uppy, gallery, report);

  return (
    <E2EKeysProvider user={credentials.user}>
      <ConversationTabs conversations={credentials.conversations} current={conversation} onSelect={setConversation} />
      <div className="workspace">
        <UploadPanel
          uppy={uppy}
          settings={settings}
          onSettingsChange={setSettings}
          gallery={gallery}
          scope={scope}
          place={conversation === null ? 'your own files' : `# ${conversation}`}
        />
        <Gallery gallery={gallery} uppy={uppy} live={live} title={conversation === null ? 'Your uploads' : `Shared in # ${conversation}`} />
      </div>
    </E2EKeysProvider>
  );
}
