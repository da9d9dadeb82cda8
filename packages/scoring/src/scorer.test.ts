// The scorer as the product runs it (rules and the learned tariff layer): the behaviours issue #3
// asks for. rules.test.ts pins the rule layer alone, round by round.
import { ScoreResult } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { EU_MEMBERS, REGIONS } from './data/entities.ts'
import { createScorer, parseWatchlist, SCORER_VERSION } from './index.ts'
import { scorerHelpers, WATCHLIST } from './test-helpers.ts'

const { score, tariff, supply, market } = scorerHelpers(createScorer({ watchlist: WATCHLIST }))

describe('output contract', () => {
  it('validates against the contracts ScoreResult schema and is deterministic', () => {
    const r = score('U.S. slaps 25% tariffs on Chinese steel', 'Beijing vowed to retaliate. Markets fell.')
    expect(ScoreResult.safeParse(r).success).toBe(true)
    expect(
      score('U.S. slaps 25% tariffs on Chinese steel', 'Beijing vowed to retaliate. Markets fell.'),
    ).toEqual(r)
    // The scorer of these tests has a watchlist, which stamps its version (watchlist.test.ts).
    expect(r.scorerVersion).toMatch(
      new RegExp(`^${SCORER_VERSION.replaceAll('+', '\\+')}\\+watchlist-[0-9a-f]{12}$`),
    )
    expect(SCORER_VERSION).toMatch(/^scoring-\d+\.\d+\.\d+\+[0-9a-f]{12}$/)
  })

  it('shares frozen empty lists between results, so no result can change another', () => {
    const a = score('Netflix communications chief quits over remark')
    const b = score('Local bakery wins regional bread award')
    expect(a.events).toBe(b.events)
    expect(Object.isFrozen(a.events)).toBe(true)
    expect(Object.isFrozen(a.entities.commodities)).toBe(true)
    expect(() => (a.events as unknown[]).push(1)).toThrow(TypeError)
    // A result with events has its own list.
    expect(Object.isFrozen(score('U.S. raises tariffs on steel').events)).toBe(false)
  })

  it('labels a dimension null when the text is not about it', () => {
    const r = score('Netflix communications chief quits over remark')
    expect(r.scores.tariff.label).toBeNull()
    expect(r.scores.supplyChain.label).toBeNull()
    expect(r.events).toEqual([])
  })
})

describe('tariff direction is applied to its target', () => {
  it.each([
    'U.S. raises tariffs on Chinese goods',
    'Washington imposes new duties on EU steel',
    'Trump slaps tariffs on Mexican imports',
    'China hikes tariffs on U.S. soybeans',
    // Port fees on a partner's ships are a levy like a tariff.
    'U.S. port fees on Chinese vessels take effect',
    'Beijing imposes port fees on U.S.-operated ships',
    'Court blocks tariff refunds',
    'U.S. tightens chip export rules',
    // A tariff deadline kept is the tariff coming: "rules out extending" it, "no extension" of it.
    'Trump rules out extending tariff deadline',
    'White House says no extension of July 9 tariff deadline',
    'Washington tightens the screws on Huawei',
    'EU scraps duty-free access for Ukrainian grain',
    // A contest after "in" or "amid" is the setting, not what the act stops.
    'China to stop buying U.S. LNG in trade spat',
    'U.S., China fail to break deadlock in trade talks',
    'Wall St. ends lower as trade worries resurface',
    // A causative: the contest or measure drags something else down, it is not itself less.
    'Trade war drags down the global growth outlook',
    'Tariffs knock down U.S. soybean shipments',
    'Trade tensions weigh down Asian chipmakers',
    'The trade war drags on into a second year',
    // A deal far off, elusive or doubted is a setback.
    'Ottawa says a trade deal is still far off',
    'A U.S.-India trade deal remains elusive',
    'Crude slips on U.S.-China trade deal doubts',
    // A stance hardened; an agreement gone back on or broken.
    'Washington hardens its stance on Chinese imports',
    'Beijing toughens rhetoric on trade',
    'USTR accuses Beijing of backtracking on trade commitments',
    'Trump says China is in breach of the trade deal',
  ])('escalation: %s', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it.each([
    'U.S. cuts tariffs on Chinese goods',
    'U.S. suspends tariffs on Mexican goods',
    'Trump delays tariff increase on Chinese imports',
    'Canada exempts U.S. steel from duties',
    'U.S. lifts tariffs on Canadian metals',
    'U.S. suspends port fees on Chinese vessels for a year',
    // Duties paid back are relief, whatever verb begins them; blocking them is the opposite.
    'Tariff refunds begin after court ruling',
    // Export rules are controls on exports: scrapping or pausing them is relief.
    'Commerce scraps AI chip export rule',
    'U.S. pauses new chip export rules',
    'Trump extends tariff deadline to August 1',
    // A purpose clause: the measure is the infinitive's ("to avert"), not the verbs before it.
    'Vietnam agrees to buy more U.S. goods to avert tariffs',
    'U.S. allows a tariff-free quota for UK steel',
    // "by end of week" is a date, not an end of the deal.
    'Canada hopes for NAFTA deal by end of week',
    'Negotiators break the impasse over farm goods in trade talks',
    'Stocks rise as trade worries ease',
    'U.S., EU agree to work toward zero tariffs',
    'EU forgoes counter-tariffs on U.S. goods',
    // A court's verdict undoes the measure.
    'Emergency tariffs ruled illegal by federal court',
    // The tariff threat is one thing: easing it is relief.
    'Peso firms as the tariff threat eases',
    // A delay or a pledge named as a thing: praising it is praising relief.
    'Retail groups praise the tariff delay',
    'White House welcomes Beijing purchase pledge',
  ])('de-escalation: %s', (h) => {
    expect(tariff(h).label).toBe('positive')
  })

  it('reads "to 25% from 10%" as a rise and "to 10% from 25%" as a cut', () => {
    const up = score('U.S. to change tariff on Chinese goods to 25% from 10%')
    expect(up.scores.tariff.label).toBe('negative')
    expect(up.events.some((e) => e.type === 'tariff_raised' && e.direction === -1)).toBe(true)
    expect(tariff('U.S. to change tariff on Chinese goods to 10% from 25%').label).toBe('positive')
  })

  it('emits typed events with spans inside the text', () => {
    const h = 'U.S. suspends tariffs on Mexican goods'
    const r = score(h)
    const ev = r.events.find((e) => e.type === 'tariff_suspended')
    expect(ev).toMatchObject({ dimension: 'tariff', direction: 1, threat: false, negated: false })
    expect(h.slice(ev?.span.start, ev?.span.end)).toBe('suspends tariffs')
  })

  it('scores trade talks, deals and truces', () => {
    expect(tariff('U.S. and China reach trade deal').label).toBe('positive')
    expect(tariff('U.S.-China trade talks collapse').label).toBe('negative')
    expect(tariff('Washington and Beijing agree trade truce').label).toBe('positive')
    expect(tariff('Trade war escalates as Beijing retaliates').label).toBe('negative')
  })

  it('treats "gold rises on trade war fears" as escalation', () => {
    const r = score('Gold rises on trade war fears')
    expect(r.scores.tariff.label).toBe('negative')
  })
})

describe('supply chain direction', () => {
  it('reads "shipping lines" as carriers, not as goods being shipped', () => {
    expect(supply('Attacks force shipping lines to reroute around Africa').score).toBeLessThanOrEqual(0)
  })

  it.each([
    'China halts exports of rare earths',
    'Beijing curbs rare-earth exports to the U.S.',
    'China bans exports of gallium and germanium',
    'Automaker suspends production as chip shortage bites',
    // Less supply named by what it does to supply: "tighten" is not "more" here.
    'Copper smelter outage in Chile tightens supply',
    'DRAM prices soar as AI demand drains supplies',
  ])('disruption: %s', (h) => {
    expect(supply(h).label).toBe('negative')
  })

  it.each([
    'China resumes rare earth exports',
    'Beijing restores rare-earth magnet exports to U.S. automakers',
    'China licenses rare earth exports to automakers',
    'Chip shortage eases',
    'Toyota to restart production at Chinese plants',
    'Korea Zinc plans U.S. smelter investment',
  ])('easing: %s', (h) => {
    expect(supply(h).label).toBe('positive')
  })

  it('types supply events', () => {
    expect(score('China halts exports of rare earths').events.map((e) => e.type)).toContain('export_control')
    expect(score('China resumes rare earth exports').events.map((e) => e.type)).toContain('supply_restored')
  })
})

describe('market tone of reported moves', () => {
  it.each([
    ['Quarterly profit rose 12%', 'positive'],
    ['Net loss widened in the third quarter', 'negative'],
    ['Net loss narrowed in the third quarter', 'positive'],
    ['Operating profit fell to EUR 5 mn', 'negative'],
    ['Company swung to a net profit', 'positive'],
    ['Company slipped to a pretax loss', 'negative'],
    ['Net sales of EUR 44 mn, up from EUR 40 mn', 'positive'],
    ['Earnings per share were EUR 0.25 versus EUR 0.42', 'negative'],
    ['Tesla shares plunge after recall', 'negative'],
  ])('%s → %s', (h, label) => {
    expect(market(h).label).toBe(label)
  })
})

describe('negation and its scope', () => {
  it('flips a negated escalation', () => {
    const r = score('U.S. has no plans to impose tariffs on Japanese cars')
    expect(r.scores.tariff.label).toBe('positive')
    expect(r.events.find((e) => e.type === 'tariff_imposed')?.negated).toBe(true)
    expect(tariff('Tariffs not expected to rise this year').label).toBe('positive')
  })

  it('reads "not ruling out" as keeping a move possible: hedged, not negated', () => {
    const r = tariff("China won't rule out retaliation over U.S. tariffs")
    expect(r.label).toBe('negative')
    expect(r.confidence).toBeLessThan(tariff('China retaliates over U.S. tariffs').confidence)
    expect(tariff('Trump does not rule out lifting tariffs on China').label).toBe('positive')
    expect(supply('Ford is not ruling out plant closures in Europe').label).toBe('negative')
  })

  it('turns a failed deal negative', () => {
    expect(tariff('Negotiators fail to reach trade deal').label).toBe('negative')
  })

  it('stops at the clause boundary', () => {
    // The negation belongs to the first clause; the tariff hike after the comma stays an escalation.
    const r = score('China says not worried, U.S. raises tariffs')
    expect(r.scores.tariff.label).toBe('negative')
  })

  it('keeps "no choice but to retaliate" escalating', () => {
    expect(tariff('China says it has no choice but to retaliate against U.S. tariffs').label).toBe('negative')
  })
})

describe('threats and hedges', () => {
  it('keeps the direction, marks the threat and lowers confidence', () => {
    const done = score('U.S. imposes tariffs on EU cars')
    const threat = score('U.S. threatens tariffs on EU cars')
    expect(threat.scores.tariff.label).toBe('negative')
    expect(threat.events.some((e) => e.threat)).toBe(true)
    expect(threat.scores.tariff.confidence).toBeLessThan(done.scores.tariff.confidence)
    expect(threat.scores.uncertainty).toBeGreaterThan(done.scores.uncertainty)
  })

  it.each([
    'U.S. weighs export curbs on chip design software',
    'Commerce Department considers new tariffs on Chinese drones',
    'EU could retaliate against U.S. steel duties',
    'Mexico plans to raise tariffs on U.S. pork',
  ])('threat: %s', (h) => {
    const r = score(h)
    expect(r.scores.tariff.label).toBe('negative')
    expect(r.events.some((e) => e.threat)).toBe(true)
  })
})

describe('intensifiers', () => {
  it('weigh a cue up or down', () => {
    const plain = score('U.S. raises tariffs on Chinese goods').scores.tariff.score
    const sharp = score('U.S. sharply raises tariffs on Chinese goods').scores.tariff.score
    const slight = score('U.S. slightly raises tariffs on Chinese goods').scores.tariff.score
    expect(sharp).toBeLessThan(plain)
    expect(slight).toBeGreaterThan(plain)
  })
})

describe('relief on terms (2.0.15)', () => {
  // The events trade_measure_reversed (packages/alerting/rules/default-rules.yaml) pages a desk on.
  const reversal = new Set(['truce', 'deal', 'tariff_suspended', 'tariff_cut'])

  it('reads relief that depends on terms as no relief granted, so no reversal is paged', () => {
    for (const h of [
      'US delegation says tariff relief depends on Chinese commitments',
      'US suspension of tariffs hinges on Chinese compliance',
      'Lifting of tariffs depends on Chinese reforms',
      'Tariff relief tied to Chinese purchases of farm goods',
      'Trade truce is conditional on Beijing buying more soybeans',
    ]) {
      const r = score(h)
      expect(r.scores.tariff.label, h).not.toBe('positive')
      expect(
        r.events.filter((e) => reversal.has(e.type) && e.direction > 0 && !e.threat),
        h,
      ).toEqual([])
    }
    expect(tariff('US grants tariff relief to Chinese firms').label).toBe('positive')
  })
})

describe('escalation on terms (2.0.16)', () => {
  // What trade_measure_enacted (packages/alerting/rules/default-rules.yaml) pages the risk desk on:
  // these event types, threats left out.
  const enacted = new Set([
    'retaliation',
    'entity_listing',
    'export_control',
    'sanction',
    'import_restriction',
    'tariff_imposed',
    'tariff_raised',
  ])
  const pages = (r: ScoreResult) => r.events.filter((e) => enacted.has(e.type) && !e.threat)

  it('reads a measure that hinges on talks as a threat: still escalation, but nothing enacted to page', () => {
    const done = score('New U.S. tariffs on China take effect')
    const pending = score('New U.S. tariffs hinge on China talks')
    expect(pending.scores.tariff.label).toBe('negative')
    expect(pages(pending)).toEqual([])
    expect(pending.events.map((e) => [e.type, e.direction, e.threat])).toEqual([['tariff_raised', -1, true]])
    expect(pending.scores.tariff.confidence).toBeLessThan(done.scores.tariff.confidence)
    expect(pending.scores.uncertainty).toBeGreaterThan(done.scores.uncertainty)
    for (const h of [
      'Trump says fresh tariffs on Mexico depend on migration talks',
      'U.S. sanctions on Iranian oil contingent upon nuclear talks, envoy says',
    ]) {
      expect(score(h).scores.tariff.label, h).toBe('negative')
      expect(pages(score(h)), h).toEqual([])
    }
  })

  it('still pages a measure "tied to" a cause', () => {
    const r = score('U.S. tariffs tied to fentanyl take effect')
    expect(r.scores.tariff.label).toBe('negative')
    expect(pages(r).map((e) => e.type)).toEqual(['tariff_imposed'])
  })
})

describe('relief that eases something (2.0.17)', () => {
  it('reads relief easing fears or tensions as relief, with no escalation for an alert to page', () => {
    for (const h of [
      'Tariff relief eases trade war fears',
      'Truce eases tensions',
      'Deal eases trade war worries',
    ]) {
      const r = score(h)
      expect(r.scores.tariff.label, h).toBe('positive')
      expect(
        r.events.filter((e) => e.direction < 0),
        h,
      ).toEqual([])
    }
  })
})

describe('a load eased (2.0.20)', () => {
  it("reads a measure easing pressure on a region's firms as relief, with nothing for a region alert to page", () => {
    for (const h of [
      "Trump's tariff pause eases pressure on Vietnam exporters",
      'Trade truce eases pressure on German carmakers',
    ]) {
      const r = score(h)
      expect(r.scores.tariff.label, h).toBe('positive')
      expect(
        r.events.filter((e) => e.direction < 0),
        h,
      ).toEqual([])
    }
  })
})

describe('multiword expressions, variants and entities', () => {
  it('recognises regions under their variants as ISO codes', () => {
    expect(score('U.S. and PRC officials meet').entities.regions).toEqual(['US', 'CN'])
    expect(score('United States presses Beijing').entities.regions).toEqual(['US', 'CN'])
    expect(score('US-China talks resume').entities.regions).toEqual(['US', 'CN'])
    expect(score("EU's Brussels team visits Japan").entities.regions).toEqual(['EU', 'JP'])
  })

  it('adds the EU right after a member state it names, once, and not after other European countries', () => {
    expect(score('US slaps tariffs on French Champagne').entities.regions).toEqual(['US', 'FR', 'EU'])
    expect(score('Trump threatens German carmakers with tariffs').entities.regions).toEqual([
      'US',
      'DE',
      'EU',
    ])
    expect(score('Dutch government tightens chip export curbs').entities.regions).toEqual(['NL', 'EU'])
    // Several members, and the EU named itself before or after them: each code once, in order.
    expect(score('France, Germany and Italy push back on U.S. tariffs').entities.regions).toEqual([
      'FR',
      'EU',
      'DE',
      'IT',
      'US',
    ])
    expect(score('EU and France respond to U.S. tariffs').entities.regions).toEqual(['EU', 'FR', 'US'])
    expect(score('Berlin presses Brussels on car tariffs').entities.regions).toEqual(['DE', 'EU'])
    // A phrase names the regions its words do, the EU with its member ("U.S.-German trade talks").
    expect(score('U.S.-German trade talks resume').entities.regions).toEqual(['US', 'DE', 'EU'])
    // Not members: the UK, Norway, Switzerland, Turkey.
    expect(score('UK and Norway weigh tariffs on steel').entities.regions).toEqual(['GB', 'NO'])
    expect(score('Swiss and Turkish exporters hit by U.S. tariffs').entities.regions).toEqual([
      'CH',
      'TR',
      'US',
    ])
  })

  it('reads "Trump" as the U.S., and "trump" the verb as no region', () => {
    expect(score('Trump slaps tariffs on Chinese goods').entities.regions).toEqual(['US', 'CN'])
    expect(score("Beijing hits back at Trump's steel tariffs").entities.regions).toEqual(['CN', 'US'])
    expect(score('Upbeat earnings trump trade jitters in Tokyo').entities.regions).toEqual(['JP'])
  })

  it('reads a capital-only name in a Title Case headline only where it is sure (2.0.21)', () => {
    // Every word has a capital there, so "Trump" may be the verb.
    expect(score('Tech Gains Trump China Tariff Worries').entities.regions).toEqual(['CN'])
    expect(score('Upbeat Earnings Trump Trade Jitters as Stocks Rally').entities.regions).toEqual([])
    expect(score('Automakers Polish EV Plans Amid Tariff Threat').entities.regions).toEqual([])
    // Opening the headline or a part of it, after "President", in the possessive: the name.
    expect(score('Trump Slaps Tariffs on Chinese Goods').entities.regions).toEqual(['US', 'CN'])
    expect(score('Stocks Slide: Trump Delays Tariffs').entities.regions).toEqual(['US'])
    expect(score('Markets Fall as President Trump Hikes Tariffs').entities.regions).toEqual(['US'])
    expect(score("Beijing Hits Back at Trump's Steel Tariffs").entities.regions).toEqual(['CN', 'US'])
    expect(score('Asian Shares Tumble as Trump Threatens Higher Tariffs').entities.regions).toEqual(['US'])
    expect(score('KUDLOW SAYS TRUMP IS NOT READY TO SIGN CHINA DEAL').entities.regions).toEqual(['US', 'CN'])
    expect(score('Polish Exports Fall as EU Tariffs Bite').entities.regions).toEqual(['PL', 'EU'])
    // Names alone do not make a headline Title Case.
    expect(score('Germany, France blast Trump over Group of Seven U-turn').entities.regions).toContain('US')
  })

  it('reads "polish" the verb as no region, and Northern Ireland as the UK (2.0.21)', () => {
    expect(score('Automakers polish EV plans amid tariff threat').entities.regions).toEqual([])
    expect(score('Polish farmers protest grain imports').entities.regions).toEqual(['PL', 'EU'])
    expect(score('Northern Ireland businesses brace for Brexit tariffs').entities.regions).toEqual(['GB'])
    expect(score('Northern Irish farmers fear tariffs').entities.regions).toEqual(['GB'])
    expect(score('Ireland warns on EU tariffs').entities.regions).toEqual(['IE', 'EU'])
  })

  it('gives a name the region of the longest gazetteer name it matches, not also of a name inside it', () => {
    expect(score('North Korea fires missile over Japan').entities.regions).toEqual(['KP', 'JP'])
    expect(score('U.S. blacklists North Korean shipping firms').entities.regions).toEqual(['US', 'KP'])
    expect(score('Seoul says North Korea talks stalled').entities.regions).toEqual(['KR', 'KP'])
    for (const h of ['South Korea exports fall', 'Korea exports fall', 'South Korean won slides']) {
      expect(score(h).entities.regions, h).toEqual(['KR'])
    }
    // Every name of the gazetteer alone gives its own region (and the EU after a member), no other.
    for (const [code, names] of Object.entries(REGIONS)) {
      for (const name of names) {
        const want = EU_MEMBERS.includes(code) ? [code, 'EU'] : [code]
        expect(score(`Tariffs hit ${name.toUpperCase()}`).entities.regions, name).toEqual(want)
      }
    }
  })

  it('lists the 27 EU member states as EU_MEMBERS, and every gazetteer name of one gives the EU', () => {
    expect(new Set(EU_MEMBERS).size).toBe(27)
    for (const code of ['GB', 'NO', 'CH', 'TR', 'IS', 'UA', 'RS', 'EU'])
      expect(EU_MEMBERS).not.toContain(code)
    for (const [code, names] of Object.entries(REGIONS)) {
      if (code === 'EU') continue
      for (const name of names) {
        // Capitals, so that "US" is the country and not the pronoun.
        const regions = score(`Tariffs hit ${name.toUpperCase()}`).entities.regions
        expect(regions[0], name).toBe(code)
        expect(regions.indexOf('EU'), name).toBe(EU_MEMBERS.includes(code) ? 1 : -1)
      }
    }
  })

  it('keeps the scores of a headline whatever EU membership adds to its regions', () => {
    // Regions are output only: the same headline scores alike with a member or a non-member named.
    const member = score('US slaps tariffs on French wine')
    const other = score('US slaps tariffs on Swiss wine')
    expect(member.scores).toEqual(other.scores)
    expect(member.events).toEqual(other.events)
  })

  it('does not read the pronoun "us" as the United States', () => {
    expect(score('Tell us what the tariffs cost').entities.regions).toEqual([])
  })

  it('matches multiword expressions across hyphens, case and possessives', () => {
    const r = score("China's Rare-Earth export controls tighten")
    expect(r.entities.commodities).toContain('rare_earths')
    expect(r.scores.tariff.label).toBe('negative')
    expect(score('U.S. adds Huawei to entity list').events.map((e) => e.type)).toContain('entity_listing')
    expect(score('EU imposes anti-dumping duties on Chinese steel').events.map((e) => e.type)).toContain(
      'tariff_imposed',
    )
    expect(score('U.S. restricts exports of chip design software').entities.commodities).toContain(
      'chip_design_software',
    )
  })

  it('finds commodities, sectors and watchlist companies', () => {
    const r = score('Tesla Inc warns magnet shortage could halt EV production')
    expect(r.entities.companies).toEqual(['TSLA'])
    expect(r.entities.commodities).toContain('magnets')
    expect(r.entities.sectors).toContain('autos')
    expect(createScorer().score({ headline: 'Tesla rallies' }).entities.companies).toEqual([])
  })

  it('finds a watchlist name as the tokenizer reads it: dotted capitals, punctuation, capitals beyond Latin-1', () => {
    // Each of these names matched nothing before: the name was split otherwise than the headline is read.
    const watchlist = parseWatchlist({
      entities: [
        { id: 'X', names: ['U.S. Steel'] },
        { id: 'SAIC', names: ['S.A.I.C. Motor'] },
        { id: 'AAPL', names: ['Apple!'] },
        { id: 'OMG', names: ['ΩMEGA'] },
        { id: 'T', names: ['AT&T'] },
      ],
    })
    const companies = (h: string) => createScorer({ watchlist }).score({ headline: h }).entities.companies
    expect(companies('U.S. Steel shares jump')).toEqual(['X'])
    expect(companies('US Steel shares jump')).toEqual(['X'])
    expect(companies('S.A.I.C. Motor sales fall')).toEqual(['SAIC'])
    expect(companies('Apple sales rise')).toEqual(['AAPL'])
    expect(companies('ΩMEGA wins contract')).toEqual(['OMG'])
    expect(companies('AT&T to cut jobs')).toEqual(['T'])
    expect(companies('Steel shares jump')).toEqual([])
  })
})

describe('explanation', () => {
  it('gives each cue with its dimension, weight and a span into the text', () => {
    const h = 'China halts exports of rare earths'
    const r = score(h)
    const cue = r.explanation.find((c) => c.dimension === 'supplyChain')
    expect(cue?.weight).toBeLessThan(0)
    expect(cue?.span.field).toBe('headline')
    expect(h.slice(cue?.span.start, cue?.span.end)).toBe('halts exports')
  })
})

describe('headline and body', () => {
  it('scores both, the headline weighing more', () => {
    const calm = 'Officials meet in London'
    const body = 'China agreed to resume rare earth exports. Talks made progress.'
    const r = score(calm, body)
    expect(r.scores.supplyChain.label).toBe('positive')
    expect(r.explanation.some((c) => c.span.field === 'body')).toBe(true)
    // A negative headline outweighs a mildly positive body.
    const mixed = score('U.S. raises tariffs on Chinese goods', 'Talks made some progress.')
    expect(mixed.scores.tariff.label).toBe('negative')
  })

  it('cuts text beyond maxChars and says so, never rejecting it', () => {
    const small = createScorer({ maxChars: 40 })
    const r = small.score({ headline: 'U.S. raises tariffs on Chinese goods', body: 'x '.repeat(1000) })
    expect(r.truncated).toBe(true)
    expect(ScoreResult.safeParse(r).success).toBe(true)
    expect(small.score({ headline: 'short' }).truncated).toBe(false)
    expect(() => createScorer({ maxChars: 0 })).toThrow(RangeError)
  })

  it('handles empty and odd input without throwing', () => {
    for (const h of ['', '   ', '!!!', '1,000.5%', 'U.S', "n't", '—', 'É'.repeat(50)]) {
      expect(ScoreResult.safeParse(score(h)).success).toBe(true)
    }
  })
})

describe('linear time', () => {
  it('scores a pathological long input within the cut (no backtracking)', () => {
    const big = createScorer({ maxChars: 200_000 })
    const text = `${'U.S. '.repeat(10_000)}${'a'.repeat(100_000)}`
    const r = big.score({ headline: text })
    expect(ScoreResult.safeParse(r).success).toBe(true)
    expect(r.explanation.length).toBeLessThanOrEqual(48)
  })
})
