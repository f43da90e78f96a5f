// One case of the Anthropic TypeScript Bedrock SDK against the mock:
// `node cases.mjs create|stream URL` prints what the SDK surfaced as one
// JSON line: {"text": ...} or {"raised": class, "status": ...}.
import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';

const [, , kind, url] = process.argv;
const client = new AnthropicBedrock({
  awsAccessKey: 'AKIDEXAMPLE',
  awsSecretKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  awsRegion: 'us-east-1',
  baseURL: url,
  maxRetries: 0,
});
const request = {
  model: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Say hi' }],
};

let text = '';
try {
  if (kind === 'stream') {
    const stream = client.messages.stream(request);
    stream.on('text', (piece) => {
      text += piece;
    });
    await stream.finalMessage();
  } else {
    const message = await client.messages.create(request);
    text = message.content.map((b) => b.text ?? '').join('');
  }
  console.log(JSON.stringify({ text }));
} catch (error) {
  const result = { raised: error.constructor.name, text_before: text };
  if (typeof error.status === 'number') result.status = error.status;
  console.log(JSON.stringify(result));
}
