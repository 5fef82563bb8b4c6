// The benchmark's peer: the Bolt-js app a team would write instead of running incident-bot.
// Socket Mode, acks every envelope (Bolt acks Events API envelopes itself; slash commands in
// the listener), stores nothing. The benchmark starts it with the same environment as the bot:
// SLACK_BOT_TOKEN, SLACK_APP_TOKEN and SLACK_API_URL (the fake Slack's Web API base, which
// apps.connections.open answers with the fake's ws:// URL).
'use strict';
const { App, LogLevel } = require('@slack/bolt');

const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  appToken: process.env.SLACK_APP_TOKEN,
  socketMode: true,
  logLevel: LogLevel.WARN,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

app.command(/.*/, async ({ ack }) => {
  await ack();
});
app.message(async () => {});

process.on('SIGTERM', () => {
  app.stop().finally(() => process.exit(0));
});

app.start().catch((error) => {
  console.error(`peer: ${error}`);
  process.exit(1);
});
