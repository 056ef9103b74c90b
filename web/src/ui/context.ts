import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ChatActions } from '../state/chat-actions';
import type { ChatStore } from '../state/chat-store';

export interface Chat {
  store: ChatStore;
  actions: ChatActions;
}

export const ChatContext = createContext<Chat | undefined>(undefined);

export function useChat(): Chat {
  const chat = useContext(ChatContext);
  if (!chat) throw new Error('useChat outside <ChatContext.Provider>');
  return chat;
}
