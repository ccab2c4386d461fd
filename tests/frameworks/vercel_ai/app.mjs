// A Vercel AI SDK app as its users write it: the OTel Node SDK with an OTLP exporter, and
// `experimental_telemetry` on each call. Everything it needs comes from the environment.
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { generateText } from "ai";
import { createOpenAI } from "@ai-sdk/openai";

const { RECEIVER, KEY, PROVIDER_BASE, USER_ID, FUNCTION_ID } = process.env;
const exporter = new OTLPTraceExporter({ url: `${RECEIVER}/v1/traces`, headers: { authorization: `Bearer ${KEY}` } });
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": "vercel-ai-app" }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
provider.register();

const openai = createOpenAI({ baseURL: `${PROVIDER_BASE}/openai/v1`, apiKey: "test-key" });
const metadata = USER_ID ? { userId: USER_ID } : {};
const { text } = await generateText({
  model: openai.chat("gpt-4o"),
  prompt: "Summarise the ticket.",
  experimental_telemetry: { isEnabled: true, functionId: FUNCTION_ID, metadata },
});
await provider.forceFlush();
await provider.shutdown();
console.log(`done: ${text}`);
