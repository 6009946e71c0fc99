import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from '@/app/app';
import { bootstrapSession, followOtherTabs } from '@/lib/api-client';
import './index.css';

// A reload keeps the session: the refresh-token cookie buys a new in-memory access token.
void bootstrapSession();
followOtherTabs();

const root = document.getElementById('root');
if (!root) throw new Error('Root element #root not found');

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
