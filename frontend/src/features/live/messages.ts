// The WebSocket contract (functions/ws, stockscreen.realtime.messages): the OpenAPI document describes the
// HTTP API only, so these messages are written out here, once.

/** A live quote for a subscribed symbol. */
export interface QuoteMessage {
  type: 'quote';
  symbol: string;
  price: number;
  change_pct: number | null;
  volume: number | null;
  ts: string;
}

/** An alert rule fired for the connected user (stockscreen.realtime.messages.AlertMessage). */
export interface AlertMessage {
  type: 'alert';
  alert_id: string;
  symbol: string;
  message: string;
  price: number | null;
  triggered_at: string;
}

/** Several quotes of one tick for this connection, in one frame (at most 32 KB). */
export interface QuotesMessage {
  type: 'quotes';
  quotes: QuoteMessage[];
}

export interface SubscribeMessage {
  action: 'subscribe' | 'unsubscribe';
  symbols: string[];
}

/** The heartbeat: the server answers `{"type": "pong"}`. */
export interface PingMessage {
  action: 'ping';
}

export type ClientMessage = SubscribeMessage | PingMessage;
