// How chat messages become a prompt. A model trained with hsm is a base model
// with no chat training and no special tokens, so the template is plain text
// that any corpus makes sense of, and generation stops where the next user
// turn would begin. /v1/models states this template.
import type { ChatMessage } from './requests.js';

const SPEAKERS: Record<ChatMessage['role'], string> = {
  system: 'System',
  developer: 'System',
  user: 'User',
  assistant: 'Assistant',
};

export const CHAT_TEMPLATE_DESCRIPTION =
  'plain text: one "System: …", "User: …" or "Assistant: …" line per message, then "Assistant:"; ' +
  'generation stops at "\\nUser:" (a base model, not chat-trained)';

/** Stop sequences added to every chat request, so the model does not write the user's next turn. */
export const CHAT_STOP = ['\nUser:'];

export function chatPrompt(messages: readonly ChatMessage[]): string {
  const lines = messages.map((m) => {
    const content = typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('');
    return `${SPEAKERS[m.role]}: ${content}`;
  });
  return lines.join('\n') + '\nAssistant:';
}
