// Scored headlines shared by this package's tests. Not exported from index.
import type { ScoredHeadline } from './schemas.ts'

const AT = '2026-03-02T08:00:00.000Z'
const headline = { source: 't', publishedAt: AT, ingestedAt: AT, scoredAt: AT }
const version = 'scoring-2.0.72+b42a825fdd7e'

/**
 * What the scorer (scoring-2.0.72) wrote for a few headlines, as written: one with events and a url, one
 * with spans into its body, one cut to a 40-character limit, one with no events and an empty body.
 * services/scorer checks that what it writes now still meets the contract (score-headline.test.ts).
 */
export const SCORED: readonly ScoredHeadline[] = [
  {
    id: 'h0',
    ...headline,
    headline: 'US raises tariffs on Chinese steel to 25% from 10%',
    url: 'https://example.com/h0',
    truncated: false,
    scores: {
      tariff: { score: -0.9757, relevance: 0.9422, confidence: 0.8952, label: 'negative' },
      supplyChain: { score: 0, relevance: 0.3624, confidence: 0.0906, label: null },
      market: { score: -0.6858, label: 'negative' },
      uncertainty: 0,
    },
    events: [
      {
        type: 'tariff_raised',
        dimension: 'tariff',
        direction: -1,
        threat: false,
        negated: false,
        span: { field: 'headline', start: 3, end: 17 },
      },
      {
        type: 'tariff_raised',
        dimension: 'tariff',
        direction: -1,
        threat: false,
        negated: false,
        span: { field: 'headline', start: 10, end: 50 },
      },
    ],
    entities: { regions: ['US', 'CN'], commodities: ['steel'], sectors: [], companies: [] },
    explanation: [
      {
        dimension: 'tariff',
        cue: 'raises + tariffs',
        weight: -1,
        span: { field: 'headline', start: 3, end: 17 },
      },
      {
        dimension: 'tariff',
        cue: 'figure up (to x from y) + tariffs',
        weight: -1,
        span: { field: 'headline', start: 10, end: 50 },
      },
    ],
    scorerVersion: version,
  },
  {
    id: 'h1',
    ...headline,
    headline: 'China halts exports of rare earths to US automakers',
    body: 'Beijing said the curbs would stay until talks resume. Shipments of gallium were also suspended.',
    truncated: false,
    scores: {
      tariff: { score: -0.6735, relevance: 0.8968, confidence: 0.5335, label: 'negative' },
      supplyChain: { score: -0.8798, relevance: 0.964, confidence: 0.8162, label: 'negative' },
      market: { score: -0.3158, label: 'neutral' },
      uncertainty: 0.2015,
    },
    events: [
      {
        type: 'export_control',
        dimension: 'supplyChain',
        direction: -1,
        threat: false,
        negated: false,
        span: { field: 'headline', start: 6, end: 19 },
      },
      {
        type: 'talks_progress',
        dimension: 'tariff',
        direction: 1,
        threat: true,
        negated: false,
        span: { field: 'body', start: 29, end: 45 },
      },
      {
        type: 'supply_halt',
        dimension: 'supplyChain',
        direction: -1,
        threat: false,
        negated: false,
        span: { field: 'body', start: 67, end: 94 },
      },
    ],
    entities: {
      regions: ['CN', 'US'],
      commodities: ['rare_earths', 'gallium'],
      sectors: ['autos'],
      companies: [],
    },
    explanation: [
      {
        dimension: 'supplyChain',
        cue: 'halts + exports',
        weight: -0.8,
        span: { field: 'headline', start: 6, end: 19 },
      },
      {
        dimension: 'uncertainty',
        cue: 'would + stay',
        weight: 0.3,
        span: { field: 'body', start: 23, end: 33 },
      },
      { dimension: 'market', cue: 'resume', weight: 0.6, span: { field: 'body', start: 46, end: 52 } },
    ],
    scorerVersion: version,
  },
  {
    id: 'h2',
    ...headline,
    headline: 'Chipmaker warns of shortage',
    body: 'Factories in Taiwan cut capacity after the drought; the EU threatens duties.',
    truncated: true,
    scores: {
      tariff: { score: 0, relevance: 0, confidence: 0, label: null },
      supplyChain: { score: -0.5784, relevance: 0.9093, confidence: 0.3238, label: 'negative' },
      market: { score: -0.1781, label: 'neutral' },
      uncertainty: 0.2592,
    },
    events: [
      {
        type: 'shortage',
        dimension: 'supplyChain',
        direction: -1,
        threat: true,
        negated: false,
        span: { field: 'headline', start: 10, end: 27 },
      },
    ],
    entities: { regions: [], commodities: [], sectors: ['semiconductors'], companies: [] },
    explanation: [
      {
        dimension: 'supplyChain',
        cue: 'warns of + shortage',
        weight: -0.6,
        span: { field: 'headline', start: 10, end: 27 },
      },
    ],
    scorerVersion: version,
  },
  {
    id: 'h3',
    ...headline,
    headline: 'Local bakery wins regional bread award',
    body: '',
    truncated: false,
    scores: {
      tariff: { score: 0, relevance: 0, confidence: 0, label: null },
      supplyChain: { score: 0, relevance: 0, confidence: 0, label: null },
      market: { score: 0.7932, label: 'positive' },
      uncertainty: 0,
    },
    events: [],
    entities: { regions: [], commodities: [], sectors: [], companies: [] },
    explanation: [
      { dimension: 'market', cue: 'wins', weight: 0.6, span: { field: 'headline', start: 13, end: 17 } },
      { dimension: 'market', cue: 'award', weight: 0.3, span: { field: 'headline', start: 33, end: 38 } },
    ],
    scorerVersion: version,
  },
]
