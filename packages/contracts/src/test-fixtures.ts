// Payloads shared by this package's tests. Not exported from index.
import type { Alert, IndicatorUpdate, ScoredHeadline } from './schemas.ts'

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

/**
 * Indicator updates as the aggregator writes them: one with every field, one written before `weight` and
 * `ingestedAt` existed, and one of a watchlist company whose id is the longest allowed (64 characters),
 * each escaped to three in the key (214 characters, the longest a valid scope gives).
 */
export const UPDATES: readonly IndicatorUpdate[] = [
  {
    key: 'tariff|region:CN',
    dimension: 'tariff',
    scope: { kind: 'region', id: 'CN' },
    asOf: AT,
    mean: { '15m': -0.4125, '1h': -0.3017, '24h': -0.0822 },
    weight: { '15m': 1.8842, '1h': 2.6131, '24h': 2.9874 },
    volume: { '15m': 2, '1h': 3, '24h': 3 },
    buzz: 2,
    momentum: -0.2214,
    diffusion: -1,
    count: 3,
    updatedAt: AT,
    ingestedAt: AT,
  },
  {
    key: 'market|global:all',
    dimension: 'market',
    scope: { kind: 'global', id: 'all' },
    asOf: AT,
    mean: { '15m': 0, '1h': 0.1, '24h': 0.05 },
    volume: { '15m': 0, '1h': 1, '24h': 9 },
    buzz: -0.5,
    momentum: 0.03,
    diffusion: 0,
    count: 9,
    updatedAt: AT,
  },
  {
    key: `supplyChain|entity:${'%7B'.repeat(64)}`,
    dimension: 'supplyChain',
    scope: { kind: 'entity', id: '{'.repeat(64) },
    asOf: AT,
    mean: { '15m': -0.5, '1h': -0.5, '24h': -0.5 },
    weight: { '15m': 1, '1h': 1, '24h': 1 },
    volume: { '15m': 1, '1h': 1, '24h': 1 },
    buzz: 1,
    momentum: 0,
    diffusion: -1,
    count: 1,
    updatedAt: AT,
  },
]

/** Alerts as the alerter writes them: a headline rule's with evidence, an indicator rule's without. */
export const ALERTS: readonly Alert[] = [
  {
    id: '0f3c9a51d7e24b6f8a1c2d3e4f5a6b7c',
    rule: 'tariff_shock',
    ruleKind: 'headline_shock',
    severity: 'critical',
    dimension: 'tariff',
    scope: { kind: 'region', id: 'CN' },
    direction: 'down',
    value: -0.9757,
    threshold: -0.75,
    message: 'Tariff escalation on CN: "US raises tariffs on Chinese steel to 25% from 10%" scored -0.98',
    evidence: [
      {
        headlineId: 'h0',
        headline: 'US raises tariffs on Chinese steel to 25% from 10%',
        score: -0.9757,
        cues: ['raises + tariffs'],
      },
    ],
    publishedAt: AT,
    ingestedAt: AT,
    detectedAt: AT,
    latencyMs: 4,
    scorerVersion: version,
    rulesVersion: '2026.1+4be0c2f1a9d3',
  },
  {
    id: '9b1e6c0d2a7f4e3b8c5d1a2f3e4b5c6d',
    rule: 'supply_level',
    ruleKind: 'level',
    severity: 'warning',
    dimension: 'supplyChain',
    scope: { kind: 'commodity', id: 'rare earths' },
    direction: 'down',
    value: -0.52,
    threshold: -0.5,
    message: 'Supply-chain mean on rare earths fell to -0.52',
    evidence: [],
    publishedAt: AT,
    ingestedAt: AT,
    detectedAt: AT,
    latencyMs: 0,
    scorerVersion: version,
    rulesVersion: '2026.1+4be0c2f1a9d3',
  },
]
