import { buildIngestApp, IngestConfig } from '@tradepulse/ingest'
import type { KafkaWorker, Logger } from '@tradepulse/platform'
import { buildScorerApp, ScorerConfig } from '@tradepulse/scorer'
import type { z } from 'zod'

type WorkerEntry<S extends z.ZodObject> = {
  config: S
  build: (config: z.infer<S>, deps: { log: Logger }) => KafkaWorker
}

function entry<S extends z.ZodObject>(config: S, build: WorkerEntry<S>['build']): WorkerEntry<z.ZodObject> {
  return { config, build: build as WorkerEntry<z.ZodObject>['build'] }
}

/** Every worker `tradepulse start` can run, in pipeline order. */
export const WORKERS: Record<string, WorkerEntry<z.ZodObject>> = {
  ingest: entry(IngestConfig, buildIngestApp),
  scorer: entry(ScorerConfig, buildScorerApp),
}
