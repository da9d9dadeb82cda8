// The two reference lexicon scorers measured beside ours in the same run: AFINN (npm `sentiment`)
// and VADER (npm `vader-sentiment`). Each gives a score in [-1, 1] and a three-way label.
import { createRequire } from 'node:module'
import Sentiment from 'sentiment'

export type Label = 'negative' | 'neutral' | 'positive'

export interface Anchor {
  name: string
  score(text: string): { score: number; label: Label }
}

export function createAfinn(): Anchor {
  const s = new Sentiment()
  return {
    name: 'AFINN',
    score(text) {
      const r = s.analyze(text)
      // comparative is the AFINN sum per token, the package's own normalised score.
      const score = Math.max(-1, Math.min(1, r.comparative))
      return { score, label: r.score > 0 ? 'positive' : r.score < 0 ? 'negative' : 'neutral' }
    },
  }
}

interface VaderModule {
  SentimentIntensityAnalyzer: { polarity_scores(text: string): { compound: number } }
}

export function createVader(): Anchor {
  const vader = createRequire(import.meta.url)('vader-sentiment') as VaderModule
  return {
    name: 'VADER',
    score(text) {
      const c = vader.SentimentIntensityAnalyzer.polarity_scores(text).compound
      // VADER's authors' thresholds for a three-way label.
      return { score: c, label: c >= 0.05 ? 'positive' : c <= -0.05 ? 'negative' : 'neutral' }
    },
  }
}
