// The rule layer alone (createScorer({ learned: false })), round by round: how the rules bind,
// negate and weigh. The learned tariff layer is trained on what these rules output (bench/src/train).
import { ScoreResult } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import * as lexiconData from './data/lexicon.ts'
import { createScorer } from './index.ts'
import { scorerHelpers, WATCHLIST } from './test-helpers.ts'

const { score, tariff, supply, market, tariffCases, supplyCases } = scorerHelpers(
  createScorer({ watchlist: WATCHLIST, learned: false }),
)

/** Every string of the lexicon data: its phrases, in every list. */
function lexiconStrings(): string[] {
  const strings: string[] = []
  const walk = (x: unknown): void => {
    if (typeof x === 'string') strings.push(x)
    else if (Array.isArray(x)) for (const y of x) walk(y)
    else if (x && typeof x === 'object') for (const y of Object.values(x)) walk(y)
  }
  walk(lexiconData)
  return strings
}

describe('negation in the rules', () => {
  // The rules flip a measure ruled out to easing, if weakly (a "new" measure named nearly bare); the
  // learned layer reads the weak easing as neutral (bench/eval/README.md, "The learned tariff layer").
  it('flips a measure ruled out', () => {
    expect(tariff('Beijing rules out new tariffs on U.S. goods').label).toBe('positive')
  })
})

describe('light verbs hand the direction to the act that follows', () => {
  it.each([
    'US and China agree to suspend tariffs for 90 days',
    'U.S. and China agree to cut tariffs',
    'EU moves to lift tariffs on U.S. goods',
    'U.S. set to delay tariffs on Chinese goods',
    'China decides to lift tariffs on U.S. soybeans',
    'Senate votes to repeal steel tariffs',
    'Trump signs order suspending tariffs on Mexican goods',
    'U.S. extends suspension of tariffs on Chinese goods',
  ])('de-escalation: %s', (h) => {
    const r = score(h)
    expect(r.scores.tariff.label).toBe('positive')
    expect(r.explanation.filter((c) => c.dimension === 'tariff').every((c) => c.weight > 0)).toBe(true)
  })

  it.each([
    'U.S. and China agree to raise tariffs',
    'Trump signs order imposing tariffs on steel',
    'EU set to impose tariffs on U.S. goods',
  ])('escalation: %s', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it('keeps the light verb alone and passes its negation on', () => {
    expect(tariff('U.S. and Mexico sign trade deal').label).toBe('positive')
    expect(tariff('Washington and Beijing agree trade truce').label).toBe('positive')
    expect(tariff('EU fails to agree to cut tariffs').label).toBe('negative')
  })
})

describe('entities of compound names', () => {
  it('gives both rare earths and magnets for "rare earth magnets"', () => {
    const r = score('China halts exports of rare earth magnets')
    expect(r.entities.commodities).toEqual(['rare_earths', 'magnets'])
    expect(r.scores.supplyChain.label).toBe('negative')
    expect(score('Magnet shortage hits automakers').entities.commodities).toEqual(['magnets'])
  })
})

describe('uncertainty cues', () => {
  it('explains the uncertainty score with spans', () => {
    const h = 'U.S. threatens tariffs on EU cars amid trade uncertainty'
    const r = score(h)
    expect(r.scores.uncertainty).toBeGreaterThan(0)
    const u = r.explanation.filter((c) => c.dimension === 'uncertainty')
    expect(u.map((c) => h.slice(c.span.start, c.span.end))).toEqual(
      // "trade uncertainty" is one phrase: a worry of the trade contest that keeps its uncertainty.
      expect.arrayContaining(['trade uncertainty', 'threatens tariffs']),
    )
    expect(u.every((c) => c.weight > 0)).toBe(true)
    expect(ScoreResult.safeParse(r).success).toBe(true)
  })

  it('gives no uncertainty cue to a plain statement', () => {
    const r = score('U.S. imposes tariffs on EU cars')
    expect(r.scores.uncertainty).toBe(0)
    expect(r.explanation.some((c) => c.dimension === 'uncertainty')).toBe(false)
  })
})

describe('context, data and company-news cues', () => {
  it('keeps an overview relevant but without direction', () => {
    const r = score('Factbox: How the North American trade deal will affect autos')
    expect(r.scores.tariff.label).toBe('neutral')
    expect(r.explanation.some((c) => c.cue === 'context: factbox')).toBe(true)
  })

  it('reads factory-activity and inventory data as supply-chain neutral', () => {
    expect(supply('U.S. factory activity contracts in March').label).toBe('neutral')
    expect(supply('U.S. wholesale inventories revised lower').label).toBe('neutral')
  })

  it('treats OPEC output policy as not supply-chain news', () => {
    expect(supply('Oil rises as OPEC+ complies with production cuts').label).toBeNull()
  })

  it('gives a frame noun after a trade target its direction', () => {
    expect(tariff('Oil slumps on oversupply fears, trade talk concerns').label).toBe('negative')
    expect(tariff('Stocks rise on trade deal hopes').label).toBe('positive')
  })

  it('does not bind a reported move across "on" to its cause', () => {
    expect(market('Banks slump on Brexit fears').label).toBe('negative')
  })

  it('reads signed percentages and company events', () => {
    expect(market('Intelsat -17.5% as regulator calls for auction').label).toBe('negative')
    expect(market('Comtech +18.5% after Army order').label).toBe('positive')
    expect(market('Shares of Unilever hit all-time high').label).toBe('positive')
    expect(market('Kraft Heinz writes down $15 billion').label).toBe('negative')
    expect(market('Standard Chartered to axe jobs').score).toBeLessThan(0)
    expect(market('Apple announces $100 billion buyback').score).toBeGreaterThan(0)
    expect(market('Broker cuts Tesco to sell from hold').label).toBe('negative')
  })
})

describe('stance, deadlines, contrast and assessments on the tariff dimension', () => {
  it('reads approval of a trade matter as de-escalation and disapproval as escalation', () => {
    expect(tariff('Ottawa optimistic on NAFTA after new round').label).toBe('positive')
    expect(tariff('Minister confident about a trade deal with Japan').label).toBe('positive')
    expect(tariff('Seoul says it will be able to do a trade deal soon').label).toBe('positive')
    expect(tariff('Brazil at odds with U.S. over changes to trade pact').label).toBe('negative')
    expect(tariff('Farm group slams new steel tariffs').label).toBe('negative')
    // A stance is an opinion, not an event.
    expect(score('Ottawa optimistic on NAFTA after new round').events).toEqual([])
  })

  it('treats a pushed-out deadline for a measure as a delay of it', () => {
    expect(tariff('Treasury extends deadline for sanctions on Russian carmaker').label).toBe('positive')
    expect(tariff('EU extends sanctions on Russia').label).toBe('negative')
  })

  it('keeps the measure after "against" unless a ruling or vote undoes it', () => {
    expect(tariff('Beijing retaliates against latest U.S. tariffs').label).toBe('negative')
    expect(tariff('WTO rules against U.S. steel tariffs').label).toBe('positive')
  })

  it('reads measures against a targeted firm and negated compounds', () => {
    expect(tariff('Sweden bans Huawei from its 5G network').label).toBe('negative')
    expect(tariff('Carmaker sees no tariff fears after strong quarter').label).toBe('positive')
    expect(tariff('EU doubts offer can prevent U.S. car tariffs').label).toBe('negative')
  })

  it('weighs the clause after "but" more', () => {
    const r = tariff('Minister hails progress on NAFTA but slams metals tariffs')
    expect(r.score).toBeLessThan(0)
  })

  it('keeps assessments of a measure relevant but without direction', () => {
    const r = tariff('Retailer sees small impact from U.S. tariffs on China')
    expect(r.label).toBe('neutral')
    expect(tariff('Tokyo closely watching U.S. tariff moves').label).toBe('neutral')
  })

  it('gives legal trouble and won business a market tone', () => {
    expect(market('Two former traders jailed over rate rigging').score).toBeLessThan(0)
    expect(market('Engineer secures $300m offshore contract').score).toBeGreaterThan(0)
    expect(market('Falling metal prices hurt miners').score).toBeLessThan(0)
  })
})

describe('requests for relief are not relief', () => {
  it('reads a plea to lift a measure as neutral, and a push for one as a threat of it', () => {
    expect(tariff('Carmakers urge Washington to lift steel tariffs').label).toBe('neutral')
    expect(tariff('Growers ask Beijing for an exemption from soybean tariffs').label).toBe('neutral')
    expect(tariff('Senators push for a ban on Huawei gear').label).toBe('negative')
  })

  it('hands the request to the act asked for, after its object', () => {
    expect(tariff('Britain wants retaliatory tariffs removed').label).toBe('neutral')
  })

  it('reads a change asked for in no direction as neutral', () => {
    expect(tariff('Beijing asks Washington to amend the ZTE business ban').label).toBe('neutral')
  })
})

describe('context of a clause or a headline', () => {
  it('weighs a clause opened by "despite" as background', () => {
    expect(tariff('Soybean exports climb despite U.S. tariffs').label).toBe('neutral')
    expect(tariff('Soybean exports climb as new tariffs loom').label).toBe('negative')
  })

  it('reads features and overviews that open the headline as neutral', () => {
    expect(tariff('How a fishing town learned to live with sanctions').label).toBe('neutral')
    expect(tariff('Factbox: the goods on the new tariff list').label).toBe('neutral')
    // Only where the headline (or a part of it) starts.
    expect(tariff('Trump says how tariffs will hit Beijing').label).toBe('negative')
  })

  it('keeps sanctions that are not trade policy out of the tariff dimension', () => {
    expect(tariff('Sprinters face sanctions over doping tests').label).toBeNull()
    expect(tariff('U.S. imposes new sanctions on Iran').label).toBe('negative')
  })
})

describe('binding subjects and objects', () => {
  it('gives a present-tense act its object, not its subject', () => {
    expect(tariff('Trade war ends farm purchases').label).toBe('negative')
  })

  it('reads a word that is a verb and a noun as the noun when a verb takes it', () => {
    expect(tariff('Huawei supplier may lose its export licence').label).toBe('negative')
    expect(tariff('Chipmaker rallies as U.S. lifts ban on sales to Huawei').label).toBe('positive')
    expect(tariff('Beijing bans exports of graphite').label).toBe('negative')
  })

  it('acts on the measure, not on the flow it covers', () => {
    expect(tariff('Duties on Chinese imports may be averted').label).toBe('positive')
  })

  it('reads a comma between two names as a list', () => {
    expect(tariff('Tokyo to halt buying Huawei, ZTE equipment').label).toBe('negative')
  })
})

describe('general verb and noun families', () => {
  it('reads progress as good news whatever it is made on', () => {
    expect(tariff('Envoys report progress on the trade dispute').label).toBe('positive')
  })

  it('reads talks merely continuing as neutral and measures kept as escalation', () => {
    expect(tariff('NAFTA talks to continue on Monday').label).toBe('neutral')
    expect(tariff('Steel tariffs to stay in place').label).toBe('negative')
  })

  it('reads exemptions from a measure as relief', () => {
    expect(tariff('EU to get exemptions from metals tariffs').label).toBe('positive')
  })

  it('reads hopes of a deal as positive', () => {
    expect(tariff('Shares rise on hopes of a trade deal').label).toBe('positive')
  })

  it('limits "no" to the noun phrase right after it', () => {
    expect(tariff('Mill towns have no illusions about tariffs').label).not.toBe('positive')
    expect(tariff('No new tariffs on Canadian lumber').label).toBe('positive')
    // The noun phrase may open with an adjective ("no Canadian dairy concessions"), and ends at a
    // preposition ("no date for more talks" does not deny the talks).
    expect(tariff('No Canadian dairy concessions in trade talks, envoy says').label).not.toBe('positive')
    expect(tariff('Officials optimistic on trade; no date for more talks').label).toBe('positive')
  })
})

describe('supply chain easing and running dry', () => {
  it('reads bottlenecks clearing as easing', () => {
    expect(supply('Container backlog begins to clear').label).toBe('positive')
    expect(supply('Port congestion clears as ships sail again').label).toBe('positive')
  })

  it('reads supplies drying up as disruption', () => {
    expect(supply('Magnet shortage worsens as rare earth supply dries up').label).toBe('negative')
  })
})

describe('issue #3: telling a measure named from a measure moved', () => {
  it('reads coping with a measure as about trade, in no direction', () => {
    expect(tariff('Toy makers adapt to higher import duties').label).toBe('neutral')
    expect(tariff('Shippers find a way around the steel tariffs').label).toBe('neutral')
    expect(tariff('Exporters rush to beat the coming levies').label).toBe('neutral')
    expect(tariff('Refiners bypass the oil sanctions via third countries').label).toBe('neutral')
  })

  it('reads talks or a deal denied as a setback', () => {
    expect(tariff('Officials have no plans to travel for trade talks').label).toBe('negative')
    expect(tariff('President says he is not ready to make a trade deal').label).toBe('negative')
  })

  it('reads hopes and worries after a market move as a stance on what follows', () => {
    expect(tariff('Peso firms on hopes for a Canada trade deal').label).toBe('positive')
    expect(tariff('Bourse slips on worries about the trade deal').label).toBe('negative')
    expect(tariff('Equities drop on fears of a wider trade war').label).toBe('negative')
  })

  it('reads procedure around a measure as neutral', () => {
    expect(tariff('Carmakers to testify at a hearing on auto tariffs').label).toBe('neutral')
    expect(tariff('President to announce a decision on steel tariffs today').label).toBe('neutral')
    expect(tariff('Ministers to discuss the trade war at the summit').label).toBe('neutral')
  })

  it('keeps efforts toward relief from counting as relief', () => {
    expect(tariff('Brussels keen on scrapping the car tariffs').label).toBe('neutral')
  })

  it('reads pressure and hostile moves as escalation where the headline is about trade', () => {
    expect(tariff('Chinese envoy condemns U.S. pressure on allies over Huawei').label).toBe('negative')
    expect(tariff('Washington takes aim at the WTO appeals body').label).toBe('negative')
    expect(tariff('Lawmakers want Commerce to be tough on ZTE').label).toBe('negative')
    expect(tariff('Local team hits back at critics after the loss').label).toBeNull()
  })

  it('keeps a firm named with China alone just short of trade relevance', () => {
    expect(tariff("China's Huawei unveils a folding phone").label).toBeNull()
    expect(tariff('Huawei executive appears at bail hearing in Vancouver').label).toBeNull()
  })
})

describe('issue #3: eighth draw, general binding rules', () => {
  it('does not let a reported move act on its cause after "on"', () => {
    expect(tariff('Shares give back gains on the trade pact').label).toBe('positive')
    expect(tariff('Crude slides on the trade war').label).toBe('negative')
  })

  it('binds a verb to the head of a trade noun compound', () => {
    expect(tariff('Regulator ends the crude sanction waivers for Iran buyers').label).toBe('negative')
    expect(tariff('Washington revises its duty list, sparing magnets').label).toBe('positive')
  })

  it('reads a participle after "be" as said of its subject', () => {
    expect(tariff('Levies on cars could be removed under a future accord, aide says').label).toBe('positive')
  })

  it('reads a participle before its noun as a state, weaker than an act', () => {
    expect(tariff('Envoys expect progress in stalled tariff talks').label).toBe('positive')
  })

  it('reads relief nouns as relief whatever they spare', () => {
    expect(tariff('Washington grants graphite a reprieve in its revised duty schedule').label).toBe(
      'positive',
    )
  })

  it('reads poor prospects as a setback for a good thing and relief from a bad one', () => {
    expect(tariff('Analysts call a tariff truce unlikely before spring').label).toBe('negative')
    expect(tariff('EU trade pact very difficult before summer, official says').label).toBe('negative')
    expect(tariff('Car tariffs are off the table for now, official says').label).toBe('positive')
  })

  it('reads stance adjectives on a trade matter as stances, not moves', () => {
    expect(tariff('Ministers sound upbeat on the steel dispute').label).toBe('positive')
    expect(tariff('Markets wobble on news of troubled trade talks').label).toBe('negative')
  })

  it('reads policy as a whole as about trade in no direction', () => {
    expect(tariff("Senator defends the party's tariff policy in a speech").label).toBe('neutral')
  })

  it('reads measures named by kind and contests named generically', () => {
    expect(tariff('Ottawa unveils anti-dumping measures on steel pipe').label).toBe('negative')
    expect(tariff('A showdown looms with Beijing over chip exports').label).toBe('negative')
  })

  it('keeps dates, ranks and idioms from reading as moves', () => {
    expect(tariff('A NAFTA pact remains possible from end-June, minister says').label).not.toBe('negative')
    expect(tariff('Premier vows to fight to the end in any tariff war').label).toBe('negative')
    expect(tariff('Economist calls it a lose-lose tariff war').label).toBe('negative')
  })

  it('reads a clause opened by "in the face of" as background', () => {
    expect(tariff('Exporters hold steady in the face of trade tensions').label).toBe('neutral')
  })
})

describe('issue #3: ninth round, the neutral class', () => {
  it('keeps a measure held by a coping verb from every other verb', () => {
    // "bucks" holds the tensions: "to buy" must not act on them.
    expect(tariff('Pension fund bucks the trade tensions to buy a U.S. insurer').label).toBe('neutral')
    expect(tariff('Farm aid to offset the soybean tariffs arrives late').label).toBe('neutral')
    expect(tariff('Toy makers cushion the blow of the new import duties').label).toBe('neutral')
  })

  it('lets an overview or an impact statement lean no direction even on a strong move', () => {
    expect(tariff('Factbox: Rapid escalation of the steel dispute, step by step').label).toBe('neutral')
    expect(tariff('Insurer assesses impact of sanctions on its expansion plans').label).toBe('neutral')
    expect(tariff('Bank says the end of the sanction waivers will have limited impact').label).toBe('neutral')
  })

  it('reads an obligation to ease as argued for, not done', () => {
    expect(tariff('We have to make a fair trade deal with Ottawa, president says').label).toBe('neutral')
    expect(tariff('Exporters say flexibility needed to implement the new trade deal').label).toBe('neutral')
    // Escalation keeps its weight: an obligation to impose is still a threat of it.
    expect(tariff('Lawmakers say Washington must impose tariffs on Chinese steel').label).toBe('negative')
  })

  it('reads a measure named bare in an opening setting clause as the scene of other news', () => {
    expect(tariff('After U.S. sanctions, the state oil firm sells crude for rupees').label).toBe('neutral')
    expect(tariff('Exclusive: Facing tariffs, a brewer ships its kegs via Canada').label).toBe('neutral')
    expect(tariff('Amid trade talks, Beijing hosts a tech fair').label).toBe('neutral')
    // A verb on the measure, or a market move against, keeps it.
    expect(tariff('After new U.S. tariffs, Asian stocks slump').label).toBe('negative')
    expect(tariff('After the tariffs were lifted, exporters ship more grain').label).toBe('positive')
    // Not opening the headline: no setting.
    expect(tariff('Exporters ship their grain via Canada after U.S. sanctions').label).toBe('negative')
  })
})

describe('issue #3: tenth round, tariff direction', () => {
  it('reads obstacles to a settlement as a bad thing the move takes away', () => {
    expect(tariff('USMCA dairy obstacles fade, Ottawa says').label).toBe('positive')
    expect(tariff('Accord finally ends the USMCA nightmare for dairy farmers').label).toBe('positive')
    expect(tariff('Steel accord eliminates a key obstacle for Canadian mills').label).toBe('positive')
    expect(tariff('Tariff talks stall amid sticking points over dairy').label).toBe('negative')
    // Not about trade on their own.
    expect(tariff('Apple faces hurdles in India').label).toBeNull()
  })

  it('reads the measure named after a granted relief noun as what it spares', () => {
    expect(tariff('Mills win an exemption from the lumber duties').label).toBe('positive')
  })

  it('reads a suspension of a measure named as a thing as relief, kept or ended', () => {
    expect(tariff('Brussels extends the tariff pause on whiskey imports').label).toBe('positive')
    expect(tariff('Ottawa lets the tariff suspension on lobster lapse').label).toBe('negative')
  })

  it('passes a negation through a verb known only for its tone to its object', () => {
    expect(tariff('Ottawa says it will not hold tariff talks before the summer').label).toBe('negative')
  })
})

describe('issue #3: thirteenth round, binding', () => {
  it('does not carry a negation past "and" into a second act', () => {
    // The negator has its object ("the report"); the verb after "and" is a new act.
    expect(tariff('Beijing dismisses the report and threatens countermeasures').label).toBe('negative')
    // Nouns joined by "and" stay under the negation.
    expect(tariff('Ottawa will not impose tariffs and duties on U.S. dairy').label).toBe('positive')
  })

  it('keeps a verb after "and" from taking the object of the verb before it', () => {
    expect(tariff('Xi vows to cut tariffs and open the economy').label).toBe('positive')
  })

  it('reads the measure after "retaliation against" as what is answered, not news of its own', () => {
    expect(tariff('Tokyo to skip retaliation against U.S. steel tariffs').label).toBe('positive')
    expect(tariff('Ottawa refrains from retaliating against U.S. duties').label).toBe('positive')
    expect(tariff('Brussels readies retaliation against U.S. steel tariffs').label).toBe('negative')
  })

  it('reads "weighs" with no object as a burden, not a proposal of what stands before it', () => {
    expect(tariff('Stocks flat as a trade deal delay weighs').label).toBe('negative')
    expect(tariff('Washington weighs tariffs on EU cars').label).toBe('negative')
    expect(tariff('Beijing weighs a cut in tariffs on U.S. cars').label).toBe('positive')
  })

  it('reads a vow or a pledge as a promise of what it names', () => {
    expect(tariff("Trump vows a 'great' trade deal with Britain").label).toBe('positive')
    expect(tariff('Beijing vows retaliation against U.S. chip curbs').label).toBe('negative')
  })

  it('reads a participle after a perfect auxiliary as an act, not a state', () => {
    const done = tariff('Beijing has granted export licences to magnet makers')
    const state = tariff('Magnet makers hold granted export licences')
    expect(done.label).toBe('positive')
    expect(done.score).toBeGreaterThan(state.score)
    expect(done.score).toBeCloseTo(tariff('Beijing grants export licences to magnet makers').score, 6)
  })

  it('ends a clause at a line break, so a body line does not bind into the next', () => {
    const joined = score('Chip tariffs', 'Peace talks in Geneva\nCourt cuts a record fine')
    const cues = joined.explanation.map((c) => c.cue)
    expect(cues).not.toContain('cuts + talks')
  })

  it('reads "no more questions" as no move of what follows', () => {
    const r = score('Xi says there are no more questions about rare earth trade')
    expect(r.explanation.some((c) => c.cue.startsWith('more +'))).toBe(false)
  })
})

describe('issue #3: thirteenth round, market and procedure', () => {
  it('reads hope and uncertainty over trade as markets feel it', () => {
    expect(tariff('Asian shares climb on trade hopes').label).toBe('positive')
    expect(tariff('Wall St slips as trade optimism fades').label).toBe('negative')
    expect(tariff('Stocks close lower as trade uncertainty lingers').label).toBe('negative')
  })

  it('reads who gains from a measure or a contest as a statement of its impact', () => {
    expect(tariff('Vietnam benefits from the U.S.-China trade war').label).toBe('neutral')
    expect(tariff('Steel duties a boon for Ohio mills').label).toBe('neutral')
    expect(tariff('Winners of the trade war: Taiwan chipmakers').label).toBe('neutral')
    // Harm keeps its direction.
    expect(tariff('Trade war hurts Chinese factories').label).toBe('negative')
  })

  it('reads too little relief, and who wins the contest, as statements about it', () => {
    expect(tariff('Scant relief for aluminium users from removal of Rusal sanctions').label).toBe('neutral')
    expect(tariff('Dairy farmers get little help from the new trade deal').label).toBe('neutral')
    expect(tariff("Trump says 'we've already lost the trade war'").label).toBe('neutral')
  })

  it('reads a decision or a ruling still to come as procedure, in no direction', () => {
    expect(tariff('WTO to rule on U.S. aluminium tariffs this year').label).toBe('neutral')
    expect(tariff('Trump says he will decide on EU car tariffs soon').label).toBe('neutral')
    expect(tariff('White House says no decision yet on auto tariffs').label).toBe('neutral')
    expect(tariff('Pompeo says he will talk to the EU over tariffs').label).toBe('neutral')
    expect(tariff('Tariff stockpiling wanes as importers work off inventories').label).toBe('neutral')
    // A ruling against the measure still undoes it.
    expect(tariff('WTO rules against U.S. aluminium tariffs').label).toBe('positive')
  })
})

describe('issue #3: thirteenth round, from the tenth draw', () => {
  it('reads opposing a measure as criticism of it, not its undoing', () => {
    expect(tariff('Brussels opposed to U.S. resumption of sanctions on Iran').label).toBe('negative')
    expect(tariff('Ottawa opposes new U.S. duties on lumber').label).toBe('negative')
  })

  it('reads talks to settle a dispute as talks, and progress held back as a setback', () => {
    expect(tariff('Beijing media see some progress in trade dispute talks').label).toBe('positive')
    expect(tariff('Dairy still blocking progress on NAFTA talks, adviser says').label).toBe('negative')
  })

  it('reads a trade deadline that looms, and tariff uncertainty, as escalation', () => {
    expect(tariff('Markets wobble as the trade deadline looms').label).toBe('negative')
    expect(tariff("Carmaker's export plans on hold amid tariff uncertainty").label).toBe('negative')
  })

  it('keeps nouns that look like verbs from acting: resolve of, eyes on', () => {
    expect(tariff('Trade tensions test the resolve of Chinese shoppers').label).toBe('negative')
    expect(
      score('Stocks edge up with eyes on trade talks').explanation.some((c) => c.cue.startsWith('eyes')),
    ).toBe(false)
  })
})

describe('issue #3: thirteenth round, from the eleventh draw', () => {
  it.each([
    // Dumping duties are duties; a Huawei exclusion is a ban of Huawei; hopes dashed are denied.
    ['Beijing seeks WTO backing for sanctions over U.S. dumping duties', 'negative'],
    ['Washington urges a Huawei exclusion from 5G networks', 'negative'],
    ['Treasury chief dashes hopes for a broad tariff cut', 'negative'],
    ['Stocks slip on report the trade deal is not imminent', 'negative'],
    ['Trump unhappy with NAFTA talks, rejects meeting', 'negative'],
    ['Little progress in U.S.-EU trade talks, envoy says', 'negative'],
    ['Dairy among the sticking points in the U.S.-India trade deal', 'negative'],
    ['Wall St flat as the trade fight caps gains', 'negative'],
    ['Beijing tells U.N. tariffs could plunge the world into recession', 'negative'],
    ['Refiner to dismiss workers over U.S. sanctions', 'negative'],
    ['Washington to go slower on sanctions on Iranian oil', 'positive'],
    ['Tariffs may power down Chinese robot makers', 'negative'],
    // Preferences granted are relief; a solution to the contest is its end; sales restarted flow.
    ['U.S. ends special tariff treatment for Indian goods', 'negative'],
    ['Huawei suppliers win approval to restart sales to blacklisted firm', 'positive'],
    // "by end of 2027" is a date, not an end of the purge.
    ['Britain to purge Huawei from 5G by end of 2027', 'negative'],
    // Contact, not a close; a name, not a trade deal.
    ['Beijing in close touch with Washington on trade deal signing ceremony', 'positive'],
  ])('%s → %s', (h, want) => {
    expect(tariff(h).label).toBe(want)
  })

  it('reads asking for a solution to the contest as a request, and absorbing a measure as coping', () => {
    expect(tariff('Tokyo calls for an early solution to the trade war').label).toBe('neutral')
    expect(tariff('Retailers absorb tariff pressure ahead of the holidays').label).toBe('neutral')
  })

  it('keeps names and non-trade penalties out of trade', () => {
    expect(tariff('E*Trade deal to test regulatory mood').label).toBeNull()
    expect(tariff('Wall Street regulator sanctions crypto project co-founder').label).toBeNull()
  })
})

describe('issue #3: thirteenth round, supply chain', () => {
  supplyCases([
    ['Dockworkers strike halts operations at Oakland port', 'negative'],
    ['Copper mine strike threatens supply', 'negative'],
    ['Suez Canal blocked by stranded ship, halting traffic', 'negative'],
    ['Suez Canal reopens after ship refloated', 'positive'],
    ['Red Sea attacks force shippers to reroute around Africa', 'negative'],
    ['Factory fire knocks out key chip supplier', 'negative'],
    // Strain named as a thing eases; lead times that shorten are supply easing.
    ['Global supply chain pressures ease, Fed index shows', 'positive'],
    ['Semiconductor lead times shorten', 'positive'],
    // A stoppage voted or held, never a deal struck.
    ['Steel workers at Dutch plant vote to strike', 'negative'],
    ['Employees hold further strike actions at the plant', 'negative'],
    ['Carmaker invests in three new U.S. plants', 'positive'],
  ] as [string, string | null][])

  it('reads port curbs on a partner as a trade measure and a logistics disruption at once', () => {
    const r = score("China's coal imports slump on port curbs")
    expect(r.scores.tariff.label).toBe('negative')
    expect(r.scores.supplyChain.label).toBe('negative')
  })
})

describe('issue #3: fourteenth round, from the thirteenth draw', () => {
  tariffCases([
    // Protectionism as a creed: statements against it, or about it, carry no direction.
    ['Ministers at G20 slam protectionism', 'neutral'],
    ['Tokyo opposes all forms of protectionism, minister says', 'neutral'],
    ['Exporters expect uncertainty from protectionism next year', 'neutral'],
    // Quotas named bare are as often the way out of tariffs as a new restriction.
    ['Seoul and Washington revise trade deal with quotas on steel', 'neutral'],
    // Who stands to gain from a contest is a statement of its impact.
    ['Argentine farmers set to win big from the trade spat', 'neutral'],
  ])

  tariffCases([
    // A protectionist stance held is still escalation.
    ['Beijing to hit back if Washington sticks to protectionist stance', 'negative'],
    // Relief over a contest eases it; hopes for progress and optimism over relations are hopes.
    ['Stocks climb in relief rally over trade spat', 'positive'],
    ['Shares hit record on hopes for trade progress', 'positive'],
    ['Wall Street rises on trade relations optimism', 'positive'],
    // A summit that will not happen is called off; decoupling is the contest.
    ['Trump-Xi summit will not happen this month, official says', 'negative'],
    ['Officials warn decoupling of the two economies is coming', 'negative'],
    // A reduced chance of escalation is the reverse of escalation.
    ['Central bank sees reducing chance the trade conflict will escalate', 'positive'],
    // Farm purchases are the currency of a trade deal.
    ['Beijing confirms new U.S. soybean purchases', 'positive'],
  ])

  it('keeps trade balance figures, Treasury news, production quotas and budget shutdowns out of trade', () => {
    expect(tariff('U.S. trade deficit widens to five-month high').label).toBeNull()
    expect(tariff('Mnuchin says aid checks to arrive within weeks').label).toBeNull()
    expect(tariff('OPEC could revert to 2016 output quotas').label).toBeNull()
    expect(supply('Government shutdown threat weighs on markets').label).toBeNull()
  })
})

describe('issue #3: fourteenth round, from the fourteenth draw', () => {
  tariffCases([
    // What a partner buys from the U.S. is the currency of a deal; investment curbs are measures.
    ['Beijing pledges to buy more U.S. goods', 'positive'],
    ['Beijing set to buy more U.S. soybeans', 'positive'],
    ['Washington weighs powers to curb Chinese investment', 'negative'],
    ['Tighter foreign investment rules aimed at Beijing take effect', 'negative'],
    ['Startup blocked from exporting U.S. technology to China', 'negative'],
    // The pair's contest named as such, salvos and delisting threats.
    ['Oil slides on U.S.-China tensions', 'negative'],
    ["Chinese firms rethink listings after Trump's delisting threat", 'negative'],
    ['Beijing vows to hit back after fresh trade salvo', 'negative'],
  ])

  it('keeps the goods trade balance out of trade policy', () => {
    expect(tariff('U.S. goods trade deficit widens').label).toBeNull()
  })

  it('has no authored phrase the tokenizer cannot produce ("U.S." is one word, "us")', () => {
    const strings = lexiconStrings()
    const dead = strings.filter((w) => /(^|\s)[a-z] [a-z](\s|$)/.test(w.replace(/^[nv] /, '')))
    expect(dead).toEqual([])
  })

  it('lists noun phrases with a preposition inside form by form ("n" pluralises the last word)', () => {
    const strings = lexiconStrings()
    // "n sale to huawei" would give "sale to huaweis" and never "sales to huawei". The two allowed
    // compounds pluralise their last word on purpose ("like-for-like sales", "feed-in tariffs").
    const allowed = new Set(['n like for like sale', 'n feed in tariff'])
    const prep = /^n .+ (to|of|on|for|with|from|in|against|over|at|by) \S+$/
    expect(strings.filter((w) => prep.test(w) && !allowed.has(w))).toEqual([])
  })
})

describe('issue #3: fourteenth round, from the fifteenth draw', () => {
  tariffCases([
    // Trade preferences are relief, so scrapping them escalates; digital services taxes are levies
    // on foreign firms; heat, strains and subsidy disputes are the contest; a softened stance eases.
    ['Washington moves to scrap trade privileges for New Delhi', 'negative'],
    ["Tech lobby raises alarm over Ottawa's digital services tax", 'negative'],
    ['Stocks cool as Trump turns trade heat on Brussels', 'negative'],
    ['Survey: German firms expect growing trade strains with Washington', 'negative'],
    ['Washington and Brussels spar over aircraft subsidy dispute', 'negative'],
    ['Tokyo may soften trade stance under U.S. pressure', 'positive'],
  ])
})

describe('issue #3: fourteenth round, from the sixteenth draw', () => {
  tariffCases([
    // Trade woes, gloom and pressures are the contest as markets feel it; reassurances are hopes;
    // hopes tempered are fewer hopes; an armistice is a truce.
    ['Stocks slip as trade woes hurt emerging markets', 'negative'],
    ['IPO pulled amid trade gloom', 'negative'],
    ['Daimler warns as trade pressures deepen', 'negative'],
    ['Shares rally on trade reassurances', 'positive'],
    ['Global stocks fall on tempered trade hopes', 'negative'],
    ['Trump-Xi trade armistice lifts markets', 'positive'],
  ])

  it('keeps reported trade flows, trade fairs and pollution curbs out of trade policy', () => {
    expect(tariff("China's pork imports surge in September").label).toBeNull()
    expect(tariff('Exporters meet buyers at Canton trade fair').label).toBeNull()
    expect(tariff('Iron ore imports rise despite pollution curbs').label).toBeNull()
  })
})

describe('issue #3: fourteenth round, from the seventeenth draw', () => {
  tariffCases([
    // Hopes that wane are fewer hopes; skirmishes, differences and worry about trade are the
    // contest; a ban with no legal basis is not made; free trade choked is harmed.
    ['Wall Street falls as trade hopes wane', 'negative'],
    ['Global trade skirmish puts factories at risk', 'negative'],
    ['Trade differences persist after G20 talks', 'negative'],
    ['Investors worry about trade as stocks slip', 'negative'],
    ['Ministry says no legal basis to ban e-cigarette imports', 'positive'],
    ['Prime minister warns global free trade is being choked', 'negative'],
  ])

  it('keeps free trade zones and metal output out of trade policy', () => {
    expect(tariff('Shanghai free trade zone sputters').label).toBeNull()
    expect(tariff("China's aluminum output hits record high").label).toBeNull()
  })
})

describe('issue #3: fourteenth round, from the eighteenth draw', () => {
  tariffCases([
    // Curbs on a partner's investment are measures; a thaw is a truce; beef let in is a flow eased.
    ['Trump to curb Chinese tech investment through security panel', 'negative'],
    ['Frost thaws in U.S.-China ties before summit', 'positive'],
    ['Brussels on course to allow in more U.S. beef', 'positive'],
    // A partner's takeovers and apps are trade news when policy acts on them.
    ['Washington weighs emergency laws to prevent Chinese takeovers', 'negative'],
    ['Pompeo says Washington looking at banning Chinese apps', 'negative'],
    // Border checks ramped up are a barrier.
    ['China ramps up checks on U.S. pork imports', 'negative'],
    // A deadline that will not move is pressure; a soured deal is harmed; no progress is a setback.
    ["Washington says March 1 is a 'hard deadline' for a trade deal", 'negative'],
    ['Shares slip on sour trade deal sentiment', 'negative'],
    ['No progress in trade talks, envoy says', 'negative'],
    // Inviting a partner to talks is a step to them.
    ['U.S. invites Chinese officials for trade talks', 'positive'],
  ])

  it('reads a plant closure and reported investment flows as no trade measure', () => {
    expect(tariff('Meatpacker shuts U.S. pork plant').label).toBeNull()
    expect(tariff('Chinese investment in Europe drops to lowest level').label).toBeNull()
  })

  it('reads a proposal on a measure as no move of it', () => {
    expect(tariff('Paris ready to hear U.S. proposal on digital tax').label).toBe('neutral')
  })
})

describe('issue #3: fifteenth round, from the CNBC and Guardian draw', () => {
  tariffCases([
    // A harm denied to a measure or contest holds it: the firm lives with it, no direction.
    ['Retailer says tariffs have not hurt its margins', 'neutral'],
    ['Chipmaker says trade tensions will not ding its China sales', 'neutral'],
    ['Phone maker says its handsets will not be affected by the tariff war', 'neutral'],
    ['Ten industries unaffected by the new tariffs on China', 'neutral'],
    ['Retailers internalize tariffs to hold prices', 'neutral'],
    // Denied harm to a good thing is still good news.
    ['Adviser says the 5G decision will not hinder a trade deal', 'positive'],
    // Markets at record highs are not a blow to the deal they hope for.
    ['Stocks hit new record highs on trade deal hopes', 'positive'],
    // Plans given up negate the planned act.
    ['Britain to reverse plans to slash import tariffs', 'negative'],
    ['EU drops plans to impose tariffs on U.S. goods', 'positive'],
    // A deal judged unlikely to happen is a setback.
    ["Broad trade deal 'unlikely to happen' this year, adviser says", 'negative'],
    // Selling a deal to voters is asking for support, not a deal.
    ['Vice president pitches trade deal to farmers', 'neutral'],
    // A cartoon comments without reporting a move.
    ["Opinion cartoon on the president's trade dispute with China", 'neutral'],
    // Giving in on a measure is a climb-down.
    ['Brussels caves on tariffs', 'positive'],
    ['China blinks in the trade war', 'positive'],
    // Impacts, the figures behind a measure and its biggest winners are statements about it.
    ['Chemicals maker on the impacts of the China tariffs', 'neutral'],
    ['Analyst walks through the numbers behind the steel tariffs', 'neutral'],
    ['Steelmaker the biggest winner on the new tariffs', 'neutral'],
  ])

  tariffCases([
    // A measure set aside by a plain "not" is no news of it; a modal keeps the denied verb phrase.
    ['Analyst says the retailer’s trouble is demand, not tariffs', 'neutral'],
    ['Minister says the country will not ban Huawei', 'positive'],
    // A deal in peril is a setback; a participle before its noun does not take the verb's act away.
    ['Stocks slide on fears the trade deal is in peril', 'negative'],
    ['Three nations sign revised trade deal', 'positive'],
    ['Stocks rise as trade war optimism grows', 'positive'],
    // Winning others over to an act asks for it; exposure and damage control are statements.
    ['Leader hopes to convince allies to halt the trade war', 'neutral'],
    ['Carmaker has the most to lose from a trade war', 'neutral'],
    ['Beijing moves to stem damage from the trade war', 'neutral'],
    ['Trade war: all you need to know about the tariffs', 'neutral'],
  ])

  tariffCases([
    // From the third news draw: what "unless" names has not happened; readiness to talk is a step to
    // talks; hedges guard against a contest without moving it; opening markets is de-escalation.
    ['WTO faces crisis unless Washington backs off from tariffs', 'negative'],
    ['Shares fall on trade war fears but U.S. signals willingness to talk', 'positive'],
    ['Fund manager buys hedges against trade fears', 'neutral'],
    ['Xi promises to open Chinese markets', 'positive'],
  ])

  tariffCases([
    // Accusations traded between partners and readiness for the fight escalate.
    ["Minister calls the partner's trade policies 'predatory'", 'negative'],
    ["State media says the president's trade 'extortion' won't work", 'negative'],
    ['President says neighbour has been taking advantage of U.S. on trade', 'negative'],
    ['Beijing slams U.S. trade announcement, says ready to fight', 'negative'],
    ['Ally will help Washington confront China on trade', 'negative'],
  ])

  tariffCases([
    // From the fourth news draw: a verb takes its noun phrase whole ("halt new car tariffs");
    // opposition dropped is support; a security review's target named with "China's" is still barred.
    ['U.S. suspends higher tariffs on Mexican steel', 'positive'],
    ['Opposition drops opposition to the Pacific trade pact', 'positive'],
    ["Agency votes to bar China's Huawei from subsidy program", 'negative'],
  ])

  tariffCases([
    // From the Reuters dev sign flips: a suspension lifted resumes; low odds and expectations played
    // down are setbacks for what they judge.
    ['Customs lifts suspension on carmaker imports', 'positive'],
    ['Chances for a trade breakthrough seen slim', 'negative'],
    ['Adviser plays down expectations for trade talks', 'negative'],
  ])

  tariffCases([
    // From the nineteenth Reuters draw: ending an agreement, deterring a deal and dragging one's feet
    // in talks set them back; accusations of hypocrisy and calls for punishment escalate; markets
    // opening higher move themselves, not the trade war after them.
    ['President will terminate NAFTA, aides say', 'negative'],
    ['Clause seen deterring China trade deal', 'negative'],
    ['President warns Beijing against dragging its feet in trade talks', 'negative'],
    ['Partners accuse each other of hypocrisy as WTO case begins', 'negative'],
    ['Senators seek punishment if ZTE violates trade deal', 'negative'],
  ])

  tariffCases([['U.S. sees no reason to reduce tariffs in aircraft case', 'negative']])

  tariffCases([
    // A plan takes its noun phrase whole: the act is the noun heading it.
    ['Beijing plans import tariff cuts as soon as October', 'positive'],
    // Tensions that thaw ease; a tariff detente is a truce.
    ['Factories shine as trade tensions thaw', 'positive'],
    ['Trade chiefs to meet after tariff detente', 'positive'],
  ])

  tariffCases([
    // From the twentieth Reuters draw: a stance softened on a matter eases it; talks expected to be
    // resolved progress; a chamber of parliament is no tariff cut.
    ['U.S. softens stance on NAFTA sunset clause', 'positive'],
    ['Minister expects elements of the trade talks to be resolved soon', 'positive'],
    ['Japan lower house passes U.S. trade deal', 'positive'],
  ])

  tariffCases([
    // From the twenty-first Reuters draw: no rush to a deal delays it; a deal that may not come is
    // a setback; a measure after "weakened by" is the cause of harm, not weakened.
    ['President says he is in no rush to complete trade deal', 'negative'],
    ['Yields drop on reports trade deal may not come this year', 'negative'],
    ['Weakened by sanctions, state oil firm cedes oilfields', 'negative'],
  ])

  tariffCases([
    // From the twenty-second Reuters draw: "a halt to new tariffs" (an attributive word after "to"
    // opens no purpose clause, and "declare" hands its object's act on); issues resolved in a deal;
    // more time before a measure bites.
    ['Both sides declare 90-day halt to new tariffs', 'positive'],
    // ...but a verb's own purpose clause still belongs to the verb after "to".
    ['Mexico steps up pressure on U.S. Congress to approve trade deal', 'positive'],
    ['Beijing committed to resolving issues in trade deal', 'positive'],
    ['U.S. extends time for divestment from sanctioned firm', 'positive'],
  ])

  tariffCases([
    // From the twenty-third Reuters draw: operators turning from a blacklisted firm; issues that
    // remain block a deal.
    ["Telecom operator to strip China's Huawei from core networks", 'negative'],
    ['Carrier holds off deploying Huawei in core network', 'negative'],
    ["Minister: 'significant' issues remain over NAFTA", 'negative'],
  ])

  it('sets a measure aside only for a "not" in its own clause', () => {
    expect(tariff('Deal or not: no tariffs on steel').score).toBeGreaterThan(0.4)
  })

  it('reads a rollback that faces opposition as no rollback', () => {
    expect(tariff('Rollback of China tariffs faces fierce opposition in White House').label).not.toBe(
      'positive',
    )
  })

  it('reads regret at a move as a complaint about it', () => {
    const r = score('China expresses regret at U.S. tariff move')
    expect(r.scores.tariff.label).toBe('negative')
    expect(r.explanation.some((c) => c.cue.startsWith('regret at + '))).toBe(true)
  })

  it('reads a decision on new tariffs put off as no escalation', () => {
    expect(tariff('Automakers expect president will delay decision on imposing auto tariffs').label).not.toBe(
      'negative',
    )
  })

  it('reads a market opening higher as no move of the trade war', () => {
    expect(tariff('Stock futures open higher as trade war worries fade').label).toBe('positive')
  })

  it('reads energy price plans, boardroom truces and fraud in breach of sanctions as no trade news', () => {
    expect(tariff('Utility launches 100% green energy tariff').label).toBeNull()
    expect(tariff('Board and activist investor agree on truce').label).toBeNull()
    expect(tariff('Executive committed fraud in breach of sanctions, prosecutors say').label).toBeNull()
    expect(tariff('Bookmakers may face watchdog sanctions').label).toBeNull()
  })

  it('reads taking advantage of low rates as no trade hostility', () => {
    expect(tariff('Treasury will take advantage of low interest rates').label).toBeNull()
  })

  it('reads a security threat as no trade hostility', () => {
    expect(tariff('Telecom firm poses security threat, says former spy chief').label).toBeNull()
  })

  it('reads talks that loom large as prominent, not threatened', () => {
    expect(tariff('Trade talks loom large over summit').score).toBeGreaterThan(0)
  })

  it('reads output said to be unaffected as no supply-chain move', () => {
    expect(score('Chipmaker says output not affected by virus case').scores.supplyChain.label).not.toBe(
      'positive',
    )
  })
})

describe('round 14: causes, attributive words, pauses and checks', () => {
  it.each([
    ['Tariff fears sink Asian shares', 'negative'],
    ['Trade worries drag down European stocks', 'negative'],
    ['Markets slide as trade war jitters dent global shares', 'negative'],
    ['Trade deal hopes lift Asian shares', 'positive'],
  ])('reads a trade worry that sinks a market as the worry, not its end: %s', (h, label) => {
    const r = score(h)
    expect(r.scores.tariff.label).toBe(label)
    expect(r.scores.market.score).toBeLessThanOrEqual(label === 'negative' ? 0 : 1)
  })

  it('keeps a worry that eases with nothing after it as easing', () => {
    expect(tariff('Trade war worries ease after phone call').label).toBe('positive')
  })

  it('gives a word right before its noun to that noun, not to the subject of the verb before it', () => {
    const r = score('Stocks dip as tariff worries overshadow upbeat earnings')
    expect(r.scores.tariff.label).toBe('negative')
    expect(r.explanation.some((c) => c.dimension === 'tariff' && c.weight > 0)).toBe(false)
  })

  it.each([
    'U.S. and China put trade war on hold',
    'Washington puts planned tariffs on hold after talks',
    'Beijing putting retaliatory tariffs on hold',
  ])('reads a measure put on hold as a pause, not as a measure put in place: %s', (h) => {
    expect(tariff(h).label).toBe('positive')
  })

  it('still reads putting tariffs on goods as imposing them', () => {
    expect(tariff('U.S. puts tariffs on Chinese steel').label).toBe('negative')
  })

  it('reads a deal put on hold as a setback', () => {
    expect(tariff('Chip merger deal on hold as trade talks stall').label).toBe('negative')
  })

  it('reads inspections of imports stepped up as a barrier raised', () => {
    expect(tariff('Beijing steps up inspections of U.S. farm imports').label).toBe('negative')
  })

  it.each([
    'Trade fight dashes hopes for a quick deal',
    'Senator quashes hopes of a trade agreement this year',
    'Hopes fade for a U.S.-EU trade pact',
    'Tariff row casts pall over trade talks',
  ])('reads hopes of a deal dashed as a setback: %s', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it('moves no curb when a frame noun follows a verb that is part of the compound', () => {
    const r = score('Chipmaker moves abroad over trade curb fears')
    expect(r.explanation.some((c) => c.cue === 'curb + curb')).toBe(false)
  })
})

describe('round 14: abbreviations', () => {
  it('reads past the full stop of a month or "St." as one clause', () => {
    expect(tariff('U.S. files notice suspending Dec. 15 tariffs on Chinese goods').label).toBe('positive')
    expect(tariff('Wall St. falls as trade war fears mount').label).toBe('negative')
  })
})

describe('round 14: a denial of what was said', () => {
  it('carries the denial past "he said"', () => {
    expect(tariff('Trade envoy denies he said tariffs on Chinese goods are on hold').label).toBe('negative')
    expect(tariff('Minister denies she said tariffs would be lifted').label).toBe('negative')
  })
})

describe('round 15: subjects, truces, threats withdrawn', () => {
  it.each([
    ['Higher tariffs will slow GDP growth, study finds', 'negative'],
    ['New levies could cut global growth, IMF warns', 'negative'],
  ])('reads a verb between a measure and the economy after a modal as acting on the economy: %s', (h, l) => {
    expect(tariff(h).label).toBe(l)
  })

  it('still reads a measure that slows with nothing after it as easing', () => {
    expect(tariff('Tariff increases will slow, trade chief says').label).toBe('positive')
  })

  it.each([
    'Asian shares climb on U.S.-China trade war truce',
    'Markets cheer the tariff war ceasefire',
    'Trade thaw lifts European stocks',
  ])('reads a truce in the trade war as a truce: %s', (h) => {
    expect(tariff(h).label).toBe('positive')
  })

  it.each([
    'Rome vows to scupper EU trade pact with Canada',
    'Row over fishing could kill off the post-Brexit trade deal',
    'Lawmakers threaten to torpedo trade agreement',
  ])('reads a deal wrecked as a setback: %s', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it('reads wrecking a measure as undoing it', () => {
    expect(tariff('Court ruling scuttles steel tariffs').label).toBe('positive')
  })

  it('reads a fight won against tariffs as relief', () => {
    expect(tariff('Planemaker wins fight against huge import tariffs').label).toBe('positive')
  })

  it('reads a court rejecting a challenge to tariffs as keeping them', () => {
    expect(tariff('Top court rejects challenge to steel tariffs').label).toBe('negative')
  })

  it('reads no progress after talks as a setback, across "after"', () => {
    expect(tariff('Adviser says no progress after trade talks with Beijing').label).toBe('negative')
  })

  it.each(['Mexico sees diminished threat of U.S. tariffs', 'Brussels drops threat of Huawei ban'])(
    'reads a threat withdrawn or fading as easing: %s',
    (h) => {
      expect(tariff(h).label).toBe('positive')
    },
  )

  it.each([
    'Sanctions expected to prevent Rusal from paying its bondholders',
    'U.S. sanctions to prevent Deripaska from attending board meetings',
    'Tariffs stop companies from buying Chinese chips',
  ])('reads a measure stopping a named party as the measure biting, not ending: %s', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it.each([
    ['Sanctions end Monday, Treasury says', 'positive'],
    ['Sanctions-hit tycoon Deripaska quits Russian board', 'negative'],
  ])(
    'keeps the measure the verb acts on when a date follows, or the verb has its own subject: %s',
    (h, l) => {
      expect(tariff(h).label).not.toBe(l === 'positive' ? 'negative' : 'positive')
    },
  )

  it.each([
    'Stocks slip on U.S.-China trade talk uncertainty',
    'Dollar falls amid trade deal uncertainty',
    'Shares retreat from highs on trade talk doubts',
  ])('reads doubt over talks or a deal as a setback, not as the talks: %s', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it('reads control of a venture as ownership, not a trade measure', () => {
    expect(tariff('Carmaker seeks full control of its China joint venture').label).toBeNull()
    expect(tariff('Lender eyes control of Shanghai securities venture').label).toBeNull()
  })

  it('still reads controls, and controlling exports, as restrictions', () => {
    expect(tariff('Washington tightens investment controls on Chinese tech firms').label).toBe('negative')
    expect(tariff('U.S. agrees new ways to control high tech exports to China').label).toBe('negative')
  })

  it('reads a plan named after its measure as what the verb before acts on', () => {
    expect(tariff('Brussels to delay digital tax plan, sources say').label).toBe('positive')
    expect(tariff('Paris unveils digital tax plan').label).toBe('negative')
  })

  it('reads a change denied as what follows standing, not denied', () => {
    expect(tariff('Virus will not change Beijing commitments to buy U.S. goods').label).toBe('positive')
    expect(tariff('Beijing will not buy U.S. goods').label).toBe('negative')
  })

  it.each([
    'Fifteen states to work together on electric heavy-duty trucks',
    'Phone maker chips away at rival market share in China',
  ])('reads words that only look like trade words as none: %s', (h) => {
    expect(tariff(h).label).toBeNull()
  })

  it.each([
    ['Investors optimistic on China trade', 'positive'],
    ['Trump slams Ottawa over trade', 'negative'],
  ])('reads a stance toward trade named as a topic: %s', (h, l) => {
    expect(tariff(h).label).toBe(l)
  })

  it.each(['Stocks pause near records in Christmas Eve trade', 'Coronavirus hits world trade'])(
    'gives trade named as a topic no direction from anything but a stance: %s',
    (h) => {
      expect(tariff(h).label).toBeNull()
    },
  )

  it.each([
    "Sides still 'miles and miles' from a trade deal, minister says",
    'Negotiators a long way from a trade deal',
  ])('reads distance from a deal as a setback: %s', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it('reads past a comma that lists a count of other names', () => {
    expect(tariff('Washington temporarily excludes EU, six other allies from steel tariffs').label).toBe(
      'positive',
    )
  })
})

describe('round 16: less of a thing, disappointment, selling a holding', () => {
  it.each([
    ['Somewhat less trade uncertainty as the year ends', 'positive'],
    ['Fewer tariffs on farm goods under the new pact', 'positive'],
  ])('reads less or fewer of what follows as less of it: %s', (h, l) => {
    expect(tariff(h).label).toBe(l)
  })

  it.each(['Copper imports fall less than forecast in May', 'Exports shrink less as factories reopen'])(
    'reads "less" after a verb or before "than" as no move of anything: %s',
    (h) => {
      expect(tariff(h).label).toBeNull()
    },
  )

  it.each(['Bank says it is disappointed in the trade deal', 'Ottawa disappointed by U.S. tariff decision'])(
    'reads disappointment in a trade matter as friction: %s',
    (h) => {
      expect(tariff(h).label).toBe('negative')
    },
  )

  it.each([
    'Pension funds are dumping shares of the retailer',
    'Growers were dumping surplus milk to curb a glut',
  ])('reads dumping by investors or growers as no trade measure: %s', (h) => {
    expect(tariff(h).label).toBeNull()
  })

  it('still reads a state dumping goods as a trade matter', () => {
    expect(tariff('Commerce Department says China is dumping steel in U.S.').label).not.toBeNull()
  })
})

describe('round 16: sales to a blacklisted firm', () => {
  it.each([
    ['Washington moves to block more sales to Huawei', 'negative'],
    ['Chipmakers resume sales to ZTE after licences', 'positive'],
  ])('reads sales to a blacklisted firm as the flow that controls stop: %s', (h, l) => {
    expect(tariff(h).label).toBe(l)
  })
})

describe('round 16: progress on trade as a topic', () => {
  it.each([
    'Ministry reports a constructive exchange on trade with Washington',
    'Shares climb on hopes for progress in trade',
  ])('reads progress on trade named as a topic as easing: %s', (h) => {
    expect(tariff(h).label).toBe('positive')
  })

  it('still gives trade named as a topic no direction from a plain move', () => {
    expect(tariff('Virus slows world trade').label).toBeNull()
  })
})

describe('round 16: a word after "and" that describes the noun after it', () => {
  it.each([
    'Trade war and sagging prices drive growers off the land',
    'Tariff fears and rising rates weigh on world stocks',
  ])('leaves the trade noun before "and" to itself: %s', (h) => {
    expect(tariff(h).label).toBe('negative')
  })
})

describe('round 16: an amount between a verb and its object', () => {
  it.each([
    'Trade uncertainty to trim USD 850 billion of global output, study says',
    'Trade war to cut 50 billion from global output',
  ])('reads the move as said of the quantity after the amount, the trade subject as its cause: %s', (h) => {
    expect(tariff(h).label).toBe('negative')
  })
})

describe("round 16: the economy's growth named as a quantity", () => {
  it('reads a cut to global growth as said of the growth, the measure as its cause', () => {
    const r = score('Tariffs may cut global growth, fund warns')
    expect(r.scores.tariff.label).toBe('negative')
    expect(r.explanation.map((c) => c.cue)).toContain('cut + global growth')
    expect(r.explanation.map((c) => c.cue)).not.toContain('cut + tariffs')
  })
})

describe('round 16: distance in time', () => {
  it('reads a trade conflict that could take years to resolve as no resolution soon', () => {
    expect(tariff('The trade conflict could take years to resolve, adviser says').label).toBe('negative')
  })
})

describe('round 16: false alarms from the stream (draw 29)', () => {
  it.each([
    'Central bank vows swift response to the coronavirus',
    'Carmaker begins responding to regulators over emissions data',
    'Drugmaker nears deal to buy biotech firm for $7 billion',
    'Steelmaker wins EU antitrust approval with concessions',
    'Bank to receive Saudi banking license',
    'Airline launches new talks to end strike',
    'Insurer in exclusive talks to sell its life book',
    'Oil falls as travel curbs spread',
    'Ports clear backlog as virus curbs ease',
  ])('reads company business and health measures as no trade matter: %s', (h) => {
    expect(tariff(h).label).toBeNull()
  })

  it.each([
    'Carmaker needs safeguards to keep drivers awake, senator says',
    'Airline to speed up inspections of used jets',
    'Ride-hailing firm loses its London license over safety',
    'Regulator grants bank a license to open a branch',
  ])('reads safety safeguards, inspections and operating licences as no trade matter: %s', (h) => {
    expect(tariff(h).label).toBeNull()
  })

  it.each([
    ['Ottawa to impose steel safeguards after U.S. tariffs', 'negative'],
    ['China steps up inspections of U.S. pork imports', 'negative'],
    ['U.S. extends temporary general license for Huawei', 'positive'],
  ])('still reads trade safeguards, border inspections and licences for a listed firm: %s', (h, l) => {
    expect(tariff(h).label).toBe(l)
  })

  it.each([
    ['Beijing vows response to U.S. tariffs', 'negative'],
    ['ZTE may lose its phone software license under U.S. order', 'negative'],
    ['Border curbs disrupt food supplies, industry says', null],
  ])('still reads a trade matter named with them: %s', (h, l) => {
    expect(tariff(h).label).toBe(l)
  })

  it('still reads what a health measure disrupts', () => {
    expect(supply('Border curbs disrupt food supplies, industry says').label).toBe('negative')
  })
})

describe('round 16: a bare deal or talks taken as an object', () => {
  it.each(['Retailer secures deal to open stores in India', 'Drugmaker signs deal backing a vaccine maker'])(
    'is no subject of the verb after it: %s',
    (h) => {
      expect(tariff(h).label).toBeNull()
    },
  )

  it.each(['U.S. and China reach deal to cut tariffs', 'Washington and Beijing near deal to end trade war'])(
    'leaves the verb after it its own trade object: %s',
    (h) => {
      expect(tariff(h).label).toBe('positive')
    },
  )
})

describe('round 16: a purchase of any kind', () => {
  it.each([
    'Regulator clears carmaker purchase of parts unit',
    'Grocer limits customer purchases amid outbreak',
  ])('reads a takeover or a shop rationing as no trade matter: %s', (h) => {
    expect(tariff(h).label).toBeNull()
  })

  it('still reads a partner buying U.S. farm goods as trade', () => {
    expect(tariff('China resumes U.S. soybean purchases after truce').label).toBe('positive')
  })
})

describe('round 16: home taxes and power cuts (news draw 7)', () => {
  it.each([
    'Chancellor unveils stamp duty holiday to revive housing',
    'Government considers air passenger duty cut to save airline',
    'Coffee chain introduces latte levy on paper cups',
    'Grid operator blames lightning strike for blackout',
    'Filming of TV drama Line of Duty postponed',
  ])('reads home taxes and power cuts as no trade matter: %s', (h) => {
    expect(tariff(h).label).toBeNull()
  })

  it('still reads a partner cut off from U.S. technology as a trade measure', () => {
    expect(tariff('Chipmaker fights back against U.S. blackout with lawsuit').label).toBe('negative')
  })
})

describe('round 16: supply false alarms (draw 31)', () => {
  it.each([
    'Airline happy with pilot contract rules for regional flights',
    'Photo app back up after worldwide outage',
    'Utility delays power line safety overhaul',
    'France prepares to build new nuclear plants',
    'Grocer partners with four more delivery companies',
  ])('reads lines, website outages, power plants and delivery services as no supply news: %s', (h) => {
    expect(supply(h).label).toBeNull()
  })

  it.each(['Retailer draws down its credit facility', 'Regulator suspends flight operations of two models'])(
    'reads credit facilities and flight operations as no supply news: %s',
    (h) => {
      expect(supply(h).label).toBeNull()
    },
  )

  it.each(['Oil drops on rising supplies and weak demand', 'Shale output jumps as rigs return'])(
    "reads the oil market's output and supplies as no supply-chain news: %s",
    (h) => {
      expect(supply(h).label).toBeNull()
    },
  )

  it.each([
    ['Carmaker extends factory outages to mid-April', 'negative'],
    ['Lockdown disrupts online retailers\u2019 deliveries', 'negative'],
    ['Maker resumes deliveries of subway cars after fix', 'positive'],
  ])('still reads production outages and deliveries held up or resumed: %s', (h, l) => {
    expect(supply(h).label).toBe(l)
  })
})

describe('round 17: a denied request, a participle after a preposition, a firm named with its country', () => {
  it.each([
    'Regulator does not want to ban Huawei from its networks',
    'Washington may not need to impose car tariffs this year',
  ])('keeps the weight of an escalation denied when the wanting or needing is denied: %s', (h) => {
    const t = tariff(h)
    expect(t.label).toBe('positive')
    expect(t.score).toBeGreaterThan(0.3)
  })

  it('reads a measure named bare after a denied wanting as eased too', () => {
    expect(tariff('Regulator does not want to ban the Chinese vendor Huawei from networks').label).toBe(
      'positive',
    )
  })

  it.each(['Trump: no need to suspend tariffs', 'Kudlow says no need to exempt allies from steel tariffs'])(
    'still reads an easing argued against as no easing done ("no" does not reach the act): %s',
    (h) => {
      expect(tariff(h).label).not.toBe('positive')
    },
  )

  it.each([
    'Tariffs set to kick in delayed',
    'EU tariffs meant to phase in delayed',
    'Tariffs that would have kicked in delayed again',
  ])(
    'keeps a participle after a particle ("kick in delayed") said of the measure, no escalation: %s',
    (h) => {
      expect(tariff(h).label).not.toBe('negative')
    },
  )

  it('still reads relief only asked for as weak ("urges ... not to ban")', () => {
    const t = tariff('Beijing urges Berlin not to ban Huawei')
    expect(t.score).toBeLessThan(0.15)
  })

  it('still reads not wanting a contest as a wish, not an act', () => {
    expect(tariff('Beijing says it does not want trade tensions with Washington').label).toBe('neutral')
  })

  it('reads a participle right after a preposition as said of the noun after it', () => {
    // "delayed" describes the pipeline; the sanctions are tightened.
    expect(tariff('Senators move to tighten sanctions on delayed gas pipeline').label).toBe('negative')
    expect(tariff('Tariffs on revised product list take effect in July').label).toBe('negative')
  })

  it.each([
    ["Commerce Department bars U.S. firms from selling to China's ZTE", 'negative'],
    ["Washington to allow sales to China's Huawei", 'positive'],
  ])('reads sales to a blacklisted firm named with its country as the flow a ban stops: %s', (h, l) => {
    expect(tariff(h).label).toBe(l)
    // A trade measure on the firm, not a supply-chain topic of its own.
    expect(supply('Administration moves toward blocking more sales to Huawei').label).toBeNull()
  })

  it.each([
    ['Washington willing to talk trade with Beijing, no date set yet', 'positive'],
    ['Beijing says ready to negotiate with Washington over trade issues', 'positive'],
    ['Beijing not willing to negotiate under tariff threats', 'negative'],
  ])('reads talks offered as a step back from the contest, and refused as a setback: %s', (h, l) => {
    expect(tariff(h).label).toBe(l)
  })

  it.each([
    ['EU and Japan negotiate lower tariffs', 'positive'],
    ['Brussels approves reduced duties on U.S. lobster', 'positive'],
    ['Washington negotiates higher tariffs', 'negative'],
    ['Congress approves new tariffs', 'negative'],
  ])('reads a measure brought about as the word right before it describes it: %s', (h, l) => {
    expect(tariff(h).label).toBe(l)
  })
})

describe('round 17: the sample feed and the alerts a desk reads (review of the default alerts)', () => {
  const events = (h: string) => score(h).events.map((e) => e.type)

  it('reads a measure lifted to a level as raised, and lifted bare as taken away', () => {
    expect(tariff('Wall Street futures drop after US lifts China tariffs to 25%').label).toBe('negative')
    expect(events('US lifts China tariffs to 25%')).toEqual(['tariff_raised'])
    expect(tariff('U.S. lifts tariffs on Canadian steel').label).toBe('positive')
    expect(tariff('US cuts tariffs to 10% on Chinese goods').label).toBe('positive')
    // A quantity lifted to a figure is still a rise of it.
    expect(market('Company lifts profit forecast to $2 billion').score).toBeGreaterThan(0)
    // The measure's target may come between; a level of 0, or figures going down, are a cut.
    expect(events('US lifts tariffs on Chinese goods to 25%')).toEqual(['tariff_raised'])
    expect(tariff('EU lifts tariffs to 0%').label).toBe('positive')
    expect(tariff('US lifts EV tariffs to 10% from 25%').label).toBe('positive')
    expect(tariff('US lifts EV tariffs to 25% from 10%').label).toBe('negative')
    // Other measures lifted "to" someone are taken away.
    for (const h of [
      'China lifts rare earth export ban to 5 countries',
      'Japan lifts export controls to 3 nations',
      'US lifts sanctions to 3 Russian banks',
    ]) {
      expect(tariff(h).label).toBe('positive')
      expect(events(h)).toEqual(['licence_granted'])
    }
  })

  it('reads rules that require licences as a control, not a licence granted', () => {
    const r = score('China halts exports of rare earths and permanent magnets pending new licence rules')
    expect(r.scores.supplyChain.label).toBe('negative')
    expect(r.scores.supplyChain.score).toBeLessThan(-0.7)
    expect(r.events.map((e) => e.type)).not.toContain('licence_granted')
  })

  it('reads a supply named by its good as the supply, and scrambling for it or capacity tightening as scarcity', () => {
    expect(supply('German parts maker pauses electric motor assembly over magnet supply').label).toBe(
      'negative',
    )
    expect(supply('Magnet makers outside China scramble for supply after Beijing export halt').label).toBe(
      'negative',
    )
    expect(supply('Shipping lines add surcharges as trans-Pacific capacity tightens').label).toBe('negative')
    expect(events('Shipping lines add surcharges as trans-Pacific capacity tightens')).not.toContain(
      'capacity_investment',
    )
  })

  it('reads the trade war growing as escalation in tone, without a measure taken', () => {
    for (const h of [
      'China factory growth slows in June as trade tensions rise',
      'Citi readies new China desk as trade war intensifies',
    ]) {
      expect(tariff(h).label).toBe('negative')
      expect(events(h)).toEqual([])
    }
    // A truce is still an event.
    expect(events('U.S. and China agree trade war truce')).toContain('truce')
  })

  it('reads a measure made conditional as moved in no direction', () => {
    expect(tariff('Tariff cuts conditional on market access, US says').label).toBe('neutral')
    expect(score('Tariff cuts conditional on market access, US says').events).toEqual([])
  })

  it('reads a quota used up as no measure', () => {
    const h = 'China November crude oil imports hit record high as refiners race to use up quotas'
    expect(events(h)).toEqual([])
    expect(tariff(h).label).not.toBe('negative')
  })
})

describe('2.0.15: relief made to depend on terms is not granted', () => {
  const easing = (h: string) => score(h).events.filter((e) => e.direction > 0)

  // Relief, a truce, an exemption or a measure's removal before "depends on", "hinges on", "is
  // conditional / contingent on" or "tied to" is offered on terms. The relief noun is often a
  // predicate of its own ("exemption", "suspension of", "lifting of"), and the terms often hold a
  // target ("purchases", "talks", "deal") that "depends on" took instead of the relief: wherever the
  // predicates bound, no easing is read, in the relief or in its terms.
  it.each([
    'Tariff relief hinges on Chinese purchases, U.S. envoy says',
    "Trade truce hinges on Beijing's purchases of soybeans",
    'Steel tariff exemption depends on a quota deal with Seoul',
    'Suspension of auto tariffs hinges on EU concessions',
    'Lifting of tariffs on Chinese goods depends on reforms, Lighthizer says',
    'Relief from steel tariffs is contingent on quotas',
    'Rollback of duties tied to phase two deal',
    'Tariff cuts tied to market access for U.S. farmers',
    'Reprieve for Mexican tomatoes depends on talks',
    'US grants tariff relief that depends on Chinese commitments',
    'Any tariff relief could hinge upon enforcement',
    'Truce conditional on Beijing halting retaliation',
    'Washington says tariff relief depends on Beijing buying more farm goods',
    'US delegation says tariff relief depends on Chinese commitments',
  ])('%s: not positive, no easing event', (h) => {
    expect(tariff(h).label).not.toBe('positive')
    expect(easing(h)).toEqual([])
  })

  it('keeps relief granted, relief for others who depend on something, and what else "tied to" joins', () => {
    // Relief granted outright, or to firms that themselves depend on something.
    for (const h of [
      'US grants tariff relief to Chinese firms',
      'US grants tariff relief to firms that depend on Chinese parts',
    ]) {
      expect(tariff(h).label).toBe('positive')
      expect(easing(h).map((e) => e.type)).toEqual(['tariff_cut'])
    }
    // "tied to" names firms or a cause, not terms, unless right after the relief.
    expect(tariff('US lifts sanctions on firms tied to Iran').label).toBe('positive')
    expect(tariff('Stocks rally tied to trade deal hopes').label).toBe('positive')
    expect(tariff('U.S. tariffs tied to fentanyl take effect').label).toBe('negative')
    expect(score('U.S. tariffs tied to fentanyl take effect').events.map((e) => e.type)).toEqual([
      'tariff_imposed',
    ])
  })
})

describe('2.0.16: escalation made to depend on terms is only threatened', () => {
  const tariffEvents = (h: string) =>
    score(h)
      .events.filter((e) => e.dimension === 'tariff')
      .map((e) => [e.type, e.direction, e.threat])

  // A measure before "depends on", "hinges on", "is conditional / contingent on" is not in force
  // yet: it keeps its escalating direction, weakened as a hedge weakens it, and its event (if any) is
  // a threat, so no enacted-measure alert reads it.
  it.each([
    ['New U.S. tariffs hinge on China talks', [['tariff_raised', -1, true]]],
    ['U.S. says new duties on Canadian lumber depend upon a softwood deal', [['tariff_raised', -1, true]]],
    ['Sanctions on Russian banks hinge on Ukraine ceasefire', [['sanction', -1, true]]],
    ['Washington imposes tariffs that hinge on Beijing talks', [['tariff_imposed', -1, true]]],
    // A bare measure before the condition is pending too, a threat of itself (2.0.22).
    ['Steel tariffs conditional on Canada quota compliance', [['tariff_raised', -1, true]]],
  ])('%s: negative, its events threats', (h, want) => {
    expect(tariff(h).label).toBe('negative')
    expect(tariffEvents(h)).toEqual(want)
  })

  it('weakens the escalation as a hedge does, and not where "tied to" names a cause', () => {
    const done = tariff('New U.S. tariffs on China')
    const pending = tariff('New U.S. tariffs hinge on China talks')
    expect(pending.score).toBeGreaterThan(done.score)
    expect(pending.confidence).toBeLessThan(done.confidence)
    expect(tariffEvents('U.S. tariffs tied to fentanyl take effect')).toEqual([['tariff_imposed', -1, false]])
    // Escalation in the terms is what the measure waits on, not made to depend: it keeps its reading.
    expect(tariffEvents('China says retaliation depends on new U.S. tariffs')).toEqual([
      ['retaliation', -1, true],
      ['tariff_raised', -1, false],
    ])
  })
})

describe('2.0.17: a reported move with a noun phrase right after it moves that noun phrase', () => {
  const tariffEvents = (h: string) => score(h).events.filter((e) => e.dimension === 'tariff')

  // "eases" is a reported move (PREDICATES fall) that took the relief, deal or truce on its left as
  // what eased ("tariff relief eases" = less relief), up to -0.94 with a tariff_raised or
  // talks_breakdown event. With a noun phrase right after it (articles and names between at most),
  // that is its object, and the subject is named in its own right.
  it.each([
    'Tariff relief eases trade war fears',
    'Phase one deal eases U.S.-China trade war worries',
    'Tariff truce eases tensions with Beijing',
    'Trade pact eased the tensions',
    'Tariff deal eases trade worries',
  ])('%s: positive, no escalating event', (h) => {
    expect(tariff(h).label).toBe('positive')
    expect(tariffEvents(h).filter((e) => e.direction < 0)).toEqual([])
  })

  it('keeps the subject with nothing after the move, a cause after "on", and what a second clause says', () => {
    expect(tariff('Trade tensions ease').label).toBe('positive')
    expect(tariff('China eases export curbs').label).toBe('positive')
    expect(tariff('Wall Street eases on tariff fears').label).toBe('negative')
    expect(tariff('Stocks ease as U.S. raises tariffs on Chinese goods').label).toBe('negative')
    expect(tariffEvents('Stocks ease as U.S. raises tariffs on Chinese goods').map((e) => e.type)).toEqual([
      'tariff_raised',
    ])
  })
})

describe('2.0.20: a load eased is what falls, not the subject that eases it', () => {
  const tariffEvents = (h: string) => score(h).events.filter((e) => e.dimension === 'tariff')

  // "pressure" is a harm verb ("tariffs pressure margins") and "eases" a fall verb: each took the cut,
  // pause or truce on its left ("ease + tariff cuts" = tariffs raised), -0.97 with two escalating events.
  it.each([
    'Tariff cuts ease pressure on automakers',
    "Trump's tariff pause eases pressure on Vietnam exporters",
    'Trade truce eases pressure on German carmakers',
    'Tariff relief relieved the strain on soybean farmers',
    'Tariff exemption to ease the burden on importers',
    'Trade truce takes pressure off chipmakers',
  ])('%s: not negative, no escalating event, market relief', (h) => {
    expect(tariff(h).score).toBeGreaterThanOrEqual(0)
    expect(tariffEvents(h).filter((e) => e.direction < 0)).toEqual([])
    expect(market(h).score).toBeGreaterThan(0)
  })

  it('leaves pressure that eases, pressure added and the harm verb as they were', () => {
    expect(tariff('US pressure on China eases').label).toBe('positive')
    expect(tariff('Tariffs add pressure on automakers').label).toBe('negative')
    expect(tariffEvents('Tariffs add pressure on automakers').map((e) => e.type)).toEqual(['tariff_raised'])
    expect(market('Tariffs pressure margins').score).toBeLessThan(0)
  })
})

describe('2.0.22: a measure with no predicate of its own before a condition is a threatened escalation', () => {
  // "depend on" and the others are also PREDICATES `change` (no direction): with no target in their
  // terms ("Congress vote"), they took the measure on their left and read it in no direction, 0.00 with
  // no threat and uncertainty 0. A condition word takes only its terms; what depends is read in its own
  // right, hedged and counted as a threat, with a threat event.
  it.each([
    'U.S. tariffs on Chinese EVs depend on Congress vote',
    'Tariff hike on Chinese EVs hinges on EU vote',
    'Canada duties on U.S. steel contingent upon a review',
  ])('%s: negative, a threat event, uncertainty', (h) => {
    const r = score(h)
    expect(r.scores.tariff.label).toBe('negative')
    expect(r.scores.uncertainty).toBeGreaterThan(0)
    const events = r.events.filter((e) => e.dimension === 'tariff')
    expect(events.length).toBeGreaterThan(0)
    expect(events.every((e) => e.threat && e.direction < 0)).toBe(true)
  })

  it('weakens it against the measure named alone, and grants no relief on terms', () => {
    expect(tariff('Tariff hike on Chinese EVs hinges on EU vote').score).toBeGreaterThan(
      tariff('Tariff hike on Chinese EVs').score,
    )
    expect(tariff('Tariff relief depends on Congress vote').score).toBe(0)
    expect(score('Tariff relief depends on Congress vote').events).toEqual([])
  })
})

describe('2.0.23: olive oil is a farm good, not crude', () => {
  it('tags olive oil as farm goods and not as oil', () => {
    const r = score('Italy and Spain brace for U.S. tariffs on olive oil')
    expect(r.entities.commodities).toEqual(['farm_goods'])
    expect(score('Olive oil exporters hit by tariffs').entities.commodities).not.toContain('oil')
  })
  it('still tags crude oil as oil', () => {
    expect(score('Tariffs on crude oil imports rise').entities.commodities).toEqual(['oil'])
  })
})

describe('2.0.24: "do little to" turns the act after it around, as "fail to" does', () => {
  it('reads relief that does not come as no relief to the market', () => {
    expect(market('Tariff cuts do little to ease pressure on automakers').score).toBeLessThan(0)
    expect(market('Rate cut does little to lift stocks').score).toBeLessThan(0)
  })
  it('keeps the cut itself a tariff cut', () => {
    expect(tariff('Tariff cuts do little to ease pressure on automakers').label).toBe('positive')
  })
})

describe('2.0.25: "trump" the verb ends its subject, and what it outweighs is weighed as after "despite"', () => {
  const outweighed = [
    'Tech Gains Trump China Tariff Worries',
    'Gold gains trump tariff worries',
    'Upbeat earnings trump trade jitters as stocks rally',
  ]
  it.each(outweighed)('%s: no tariff measure, tariff near neutral', (h) => {
    const r = score(h)
    expect(r.events.filter((e) => e.dimension === 'tariff')).toEqual([])
    expect(r.scores.tariff.label).toBe('neutral')
    expect(Math.abs(r.scores.tariff.score)).toBeLessThan(0.3)
  })
  it('keeps the market tone of the subject that wins', () => {
    expect(market('Upbeat earnings trump trade jitters as stocks rally').score).toBeGreaterThan(0.5)
    expect(market('Tech Gains Trump China Tariff Worries').score).toBeGreaterThan(0)
  })
  it('leaves Trump the name as it was', () => {
    expect(score('Trump slaps tariffs on Chinese goods').events.map((e) => e.type)).toEqual([
      'tariff_imposed',
    ])
    expect(score('Stocks Slip as Trump Threatens Tariffs').events.map((e) => e.type)).toEqual([
      'tariff_raised',
    ])
  })
})

describe('round 20: defects from review', () => {
  /** Tariff events in the de-escalating direction (truce, cut, suspension...). */
  const easing = (h: string) =>
    score(h).events.filter((e) => e.dimension === 'tariff' && e.direction > 0 && !e.threat)

  it.each(['Trade war slows growth', 'Trade war slows global growth', 'Tariffs hurt growth, slow hiring'])(
    '%s: the trade war slows growth, it does not slow down',
    (h) => {
      expect(easing(h)).toEqual([])
      expect(tariff(h).label).toBe('negative')
    },
  )
  it('still reads a trade war that slows as easing', () => {
    expect(tariff('Trade war slows as talks resume').label).toBe('positive')
    expect(score('Trade war slows as talks resume').events.map((e) => e.type)).toContain('truce')
  })

  it.each([
    'Fed move did little to calm markets',
    'Fed move failed to calm markets',
    'Rate cut does little to soothe investors',
  ])('%s: calm that does not come is no good news', (h) => {
    expect(market(h).score).toBeLessThan(0)
  })
  it('reads markets calmed as good news', () => {
    expect(market('Fed move calms markets').score).toBeGreaterThan(0)
    expect(market('Truce soothes jittery markets').score).toBeGreaterThan(0)
  })

  it.each([
    'New Trump Tariffs Hit Chinese Goods',
    'Under Trump, Tariffs Rise',
    'The Trump Tariffs Are Here',
    'Fresh Trump Tariffs Rattle Markets',
  ])('%s: Trump after an article, adjective or preposition names the US', (h) => {
    expect(score(h).entities.regions).toContain('US')
  })
  it('still reads trump the verb after a noun', () => {
    expect(score('Tech Gains Trump China Tariff Worries').entities.regions).not.toContain('US')
  })

  it.each(['Deal eases tariff pressure', 'Truce eases the tariff burden on farmers'])(
    '%s: a tariff load eased is relief',
    (h) => {
      expect(tariff(h).label).toBe('positive')
      expect(tariff(h).score).toBeGreaterThan(0.5)
    },
  )
  it('reads a tariff load that grows as escalation', () => {
    expect(tariff('Tariff pressure mounts on retailers').label).toBe('negative')
  })

  it.each([
    'Export curbs on chips hinge on Commerce review',
    'Export curbs hinge on a review of the deal',
    'Steel tariffs depend on Commerce review',
  ])('%s: a measure before a condition stays a threatened escalation', (h) => {
    const r = score(h)
    expect(r.scores.tariff.score).toBeLessThan(0)
    expect(r.scores.uncertainty).toBeGreaterThan(0)
    const events = r.events.filter((e) => e.dimension === 'tariff')
    expect(events.length).toBeGreaterThan(0)
    expect(events.every((e) => e.threat)).toBe(true)
  })

  it.each([
    'Tariff relief hinges on China talks',
    'Tariff cuts depend on Chinese purchases',
    'Suspension of tariffs hinges on compliance',
  ])('%s: relief on terms reads no direction and no event, but uncertainty', (h) => {
    const r = score(h)
    expect(r.scores.tariff.score).toBe(0)
    expect(r.events).toEqual([])
    expect(r.scores.uncertainty).toBeGreaterThan(0.2)
  })
})

describe('round 21: defects from probes', () => {
  /** Tariff events in the de-escalating direction (truce, cut, suspension...). */
  const easing = (h: string) =>
    score(h).events.filter((e) => e.dimension === 'tariff' && e.direction > 0 && !e.threat)

  it.each([
    'Tariffs slow exports',
    'Tariffs slow Chinese imports',
    'US tariffs lower steel shipments',
    'Tariffs could slow exports',
    'Tariffs to slow exports',
    'Export curbs slow chip shipments',
  ])('%s: a measure before a move in the base form acts on the flow after it', (h) => {
    expect(easing(h)).toEqual([])
    expect(tariff(h).label).toBe('negative')
  })
  it('still reads a measure that slows, with nothing after it, as easing', () => {
    expect(tariff('Tariffs slow').label).toBe('positive')
    expect(tariff('Trade tensions ease').label).toBe('positive')
  })

  it.each([
    'Dockworkers strike shuts East and Gulf Coast ports',
    'Port strike shuts Rotterdam terminals',
    'Rail strike halts freight across Germany',
    'Magnet shortage halts European car lines',
    'Shortage of transformers delays grid projects',
    'Strike halts production at Boeing',
    'Strike hits production at chocolate factory',
  ])('%s: the disruption does the stopping, it is not stopped', (h) => {
    expect(supply(h).label).toBe('negative')
    expect(score(h).events.map((e) => e.type)).not.toContain('supply_restored')
  })
  it('still reads a disruption stopped as easing, and strikes a deal', () => {
    expect(supply('Chip shortage eases').label).toBe('positive')
    expect(tariff('U.S., China strike trade deal').label).toBe('positive')
  })

  it.each([
    'Trump exempts Brazilian orange juice, aircraft from 50% tariff',
    'U.S. exempts semiconductors from reciprocal tariffs',
    'Trump exempts smartphones, computers from reciprocal tariffs',
    'U.S. grants automakers relief on tariffs for parts',
    'Tariffs on steel lifted under new deal',
    'U.S. to refund tariffs collected under IEEPA',
    'Importers get refunds after court voids tariffs',
    "Trump's tariff U-turn sends stocks soaring",
    'U.S., China agree to 90-day ceasefire in trade war',
  ])('%s: relief from a measure eases', (h) => {
    expect(tariff(h).label).toBe('positive')
  })
  it('keeps a verb of more on a deal after "under" ("ramp up buys under trade deal")', () => {
    expect(tariff('China to ramp up U.S. buys under trade deal').label).toBe('positive')
  })

  it.each([
    'China to require export licences for graphite',
    'U.S. to require export licences for Nvidia chip sales to China',
    'Tariffs cut into U.S. farm exports',
    'Rare earths: China tightens grip on rare earth supply',
    "Beijing's rare earth stranglehold tightens",
    'China tightens grip on gallium supply',
  ])('%s: a control or a harm escalates', (h) => {
    expect(tariff(h).label).toBe('negative')
    expect(easing(h)).toEqual([])
  })
  it.each(['Israel and Hamas reach ceasefire deal', 'Russia and Ukraine agree to Easter ceasefire'])(
    '%s: a ceasefire in a war of arms is no trade truce',
    (h) => {
      expect(tariff(h).label).toBeNull()
    },
  )
  it('still reads a trade ceasefire as a truce', () => {
    expect(tariff('U.S., China agree on trade war ceasefire after summit').label).toBe('positive')
  })
  it.each([
    ['EU opens anti-subsidy investigation into Chinese EVs', 'negative'],
    ['Japan removes South Korea from trade whitelist', 'negative'],
    ['Japan restores South Korea to export whitelist', 'positive'],
  ])('%s: a trade case or a whitelist is trade policy (%s)', (h, label) => {
    expect(tariff(h).label).toBe(label)
  })

  it.each([
    ['Houthi attacks force shipping giants to avoid Red Sea', 'negative'],
    ['Maersk pauses Red Sea shipping after attack', 'negative'],
    ['Container rates soar as Red Sea crisis deepens', 'negative'],
    ['Suez Canal traffic plunges after Houthi attacks', 'negative'],
    ['Insurers raise war-risk premiums for Black Sea shipping', 'negative'],
    ['Maersk to resume Red Sea transits', 'positive'],
    ['Freight rates fall as Red Sea traffic returns', 'positive'],
    ['Air freight rates head back to earth as boom cools', 'positive'],
  ])('%s: shipping through a chokepoint and what it costs are supply chain (%s)', (h, label) => {
    expect(supply(h).label).toBe(label)
  })
  it('reads freight rates named bare as no disruption', () => {
    expect(supply('FedEx publishes 2020 freight rates').label).not.toBe('negative')
  })

  it.each(['Gucci tightens grip on suppliers', "China's e-commerce rivals seek luxury stranglehold"])(
    '%s: a firm tightening its grip is no trade measure',
    (h) => {
      expect(tariff(h).label).toBeNull()
    },
  )
})

describe('round 22: a second probe of our own headlines, and review of round 21', () => {
  it.each([
    "Federal appeals court rules most of Trump's IEEPA tariffs are illegal",
    'Trade court invalidates tariffs on Canadian goods',
    'Judge rules Trump tariffs exceed presidential authority',
    'WTO panel rules against EU duties on Indonesian biodiesel',
    'EU and China agree to replace EV tariffs with minimum import prices',
    'Canada and Mexico agree to phase out steel tariffs',
  ])('%s: a ruling against a measure, or a deal winding it down, eases', (h) => {
    expect(tariff(h).label).toBe('positive')
  })
  it('reads a politician calling tariffs illegal as no ruling', () => {
    expect(tariff('Macron says U.S. tariffs are illegal and a mistake').label).toBe('negative')
  })

  it.each([
    "Trump Says Chip Tariffs Could Be 'Fairly Substantial', Nvidia Slips",
    'Trump Says Pharma Tariffs Coming Soon, Drugmakers Fall',
  ])('%s: a market move after a comma is not said of the measure before it', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it.each([
    'U.S.-China trade talks in London end without agreement',
    'Trade talks break up without agreement',
    'Malaysia to require permits for exports of U.S. AI chips',
  ])('%s: a setback or a control escalates', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it.each([
    'Israel and Hezbollah agree ceasefire, Biden says',
    'Russia and Ukraine agree Easter truce, Kremlin says',
    'Israel and Hamas reach ceasefire deal',
    'Maharashtra power tariffs for households to rise 5% from April',
    'California to require licenses for AI developers',
    'Walmart tightens grip on supply chain',
  ])('%s: no trade policy', (h) => {
    expect(tariff(h).label).toBeNull()
  })
  it.each(['US, China reach tariff ceasefire deal', 'US, China extend tariff ceasefire deal'])(
    '%s: a tariff ceasefire deal is a truce',
    (h) => {
      expect(tariff(h).label).toBe('positive')
    },
  )

  it.each([
    'Port strike halts for a week',
    'Port strike pauses until January',
    'Canada rail strike pauses pending arbitration',
    'Rail strike pauses while union votes',
  ])('%s: a strike that stops, with no object after the verb, eases', (h) => {
    expect(supply(h).label).toBe('positive')
  })
  it.each(['China cancels soybean orders in trade war', 'Farmers lose markets in trade war'])(
    '%s: a trade war after "in" stays a trade war unless a truce is made in it',
    (h) => {
      expect(tariff(h).label).toBe('negative')
    },
  )

  it.each([
    ['Maersk diverts all Suez-bound vessels around Cape of Good Hope after Houthi attacks', 'negative'],
    ['Rail lockout halts freight across Canada', 'negative'],
    ['Strike disrupts freight at Port of Montreal', 'negative'],
  ])('%s: freight and detours are supply chain (%s)', (h, label) => {
    expect(supply(h).label).toBe(label)
  })
  it('reads a freight firm as no freight moving', () => {
    expect(supply('Amazon invests in digital freight forwarder Beacon').label).toBeNull()
  })
})

describe('round 23: a third probe of our own headlines', () => {
  it.each([
    ['Global shipping rates slump in latest sign of economic slowdown', 'positive'],
    ['Freight rates rise in sign of recovery', 'negative'],
  ])('%s: "sign of" is no signing, and "latest" says more only of what follows (supply %s)', (h, want) => {
    expect(supply(h).label).toBe(want)
  })
  it('reads no sign of a de-escalation as no de-escalation', () => {
    expect(tariff('No signs of de-escalation in trade dispute with U.S.: Germany says').label).toBe(
      'negative',
    )
  })
  it.each([
    "NY Fed's Williams says low take-up of emergency lending facilities a sign of success",
    'Fed expands lending facility for small businesses',
  ])('%s: a lending facility is no plant', (h) => {
    expect(supply(h).label).toBeNull()
  })

  it.each([
    'Rare earth supply fears grow as Myanmar border closes',
    'Chip supply worries mount as ports close',
  ])('%s: a frame noun moved is more fear for the supply, not more supply', (h) => {
    expect(supply(h).label).toBe('negative')
  })

  it.each([
    'China to exempt some U.S. pork and soybeans from extra tariffs',
    'Trump exempts orange juice, aircraft and beef from new 50% tariff',
    'Trump decides against auto tariffs for now, delays decision six months',
    'U.S. eases rules on exports to Huawei',
    'China lifts ban on exports of rare earths',
  ])('%s: relief across a list and past an adjective, a choice not to act, a control eased', (h) => {
    expect(tariff(h).label).toBe('positive')
  })

  it.each([
    "Trump says China trade deal 'not even close', won't rule out more tariffs",
    'U.S. and China nowhere near a trade deal, official says',
    'U.S. tightens rules on exports of chip technology to China',
    'China imposes curbs on exports of gallium',
    "U.S. ends India's preferential trade status",
  ])('%s: a deal not close, a control on exports, preferences ended escalate', (h) => {
    expect(tariff(h).label).toBe('negative')
  })
  it('reads curbs on exports of an input as a supply disruption', () => {
    expect(supply('China imposes curbs on exports of gallium').label).toBe('negative')
  })

  it.each([
    'South Korea, Japan agree to resume talks on export curbs',
    'U.S., China resume talks on tariffs',
  ])('%s: a measure the talks are about is no news of itself', (h) => {
    expect(tariff(h).label).toBe('positive')
  })
  it.each([
    'U.S., China talks on tariffs collapse',
    'Stocks inch higher as investors downplay escalating trade war',
    'Wall Street bounces back as investors shrug off trade tensions',
  ])('%s: talks collapse, not the measure they are about; a market shrugging off a measure keeps it', (h) => {
    expect(tariff(h).label).toBe('negative')
  })

  it.each([
    ['Fire at Renesas chip plant worsens auto chip crunch', 'negative'],
    ['Airlines convert passenger jets to cargo to ease airfreight crunch', 'positive'],
    ['Ventilator makers struggle to source parts amid global demand surge', 'negative'],
  ])('%s: a crunch of an input or of freight space (supply %s)', (h, want) => {
    expect(supply(h).label).toBe(want)
  })
  it('reads a credit crunch as no supply chain', () => {
    expect(supply('Credit crunch hits banks').label).toBeNull()
  })

  it.each([
    'Trump walks back Huawei ban, lets U.S. firms sell some chips',
    "Trump says no need for new tariffs after 'very good' call with Xi",
    'USTR reinstates lapsed exclusions on Chinese-made filters',
  ])('%s: a measure walked back or not needed, relief reinstated', (h) => {
    expect(tariff(h).label).toBe('positive')
  })
  it.each([
    'China cancels soybean orders, walks back purchase pledge',
    'China not yet ready to lift ban on U.S. poultry',
    'China not yet ready to resume buying U.S. soybeans, traders say',
    'Japan to tighten exports of chip materials to South Korea',
  ])('%s: a pledge walked back, relief not yet ready, exports tightened', (h) => {
    expect(tariff(h).label).toBe('negative')
  })
  it("reads walking back one's comments as no undoing of what they were about", () => {
    expect(tariff("Navarro walks back on comments China trade deal 'over'").label).not.toBe('negative')
  })

  it.each([
    "China won't retaliate against new U.S. tariffs, commerce ministry says",
    'Japan to skip retaliation against new U.S. steel tariffs',
  ])('%s: retaliation forgone against a measure described as new', (h) => {
    expect(tariff(h).label).toBe('positive')
  })
  it('reads retaliation against new tariffs as escalation', () => {
    expect(tariff('China retaliates against new U.S. tariffs').label).toBe('negative')
  })

  it.each([
    'U.S. exempts Canada and Mexico from new steel duties',
    'EU spares Britain from new steel duties',
  ])('%s: relief past a word of more with a noun between it and the measure', (h) => {
    expect(tariff(h).label).toBe('positive')
    expect(score(h).explanation.some((c) => c.cue.startsWith('new +'))).toBe(false)
  })

  it.each([
    ["Trump: China trade deal 'not even close' as markets wobble", 'negative'],
    ['Brussels draws up list of US goods for retaliation over Boeing subsidies', 'negative'],
    ['Stocks surge after Trump signals flexibility on China tariffs', 'positive'],
    ['Trump signals softer stance on tariffs', 'positive'],
  ])(
    '%s (probe 5): a deal not even close, a retaliation list drawn up, flexibility on a measure (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it('reads keeping up as no new capacity', () => {
    expect(supply('Flour runs out in UK shops as mills struggle to keep up').label).not.toBe('positive')
  })

  it.each([
    'Five charts that explain the US-China trade war',
    'A short history of the trade war in ten charts',
  ])('%s: a feature by charts or history is about the measure without moving it', (h) => {
    expect(tariff(h).label).toBe('neutral')
  })

  it.each(['Shops ration eggs as shelves empty', 'UK supermarkets appeal for calm as shelves empty'])(
    '%s: goods rationed or gone from the shelves are a shortage',
    (h) => {
      expect(supply(h).label).toBe('negative')
    },
  )
  it('reads running out of cash as no supply chain', () => {
    expect(supply('French Connection warns it is running out of cash').label).toBeNull()
  })

  // Review of the round: what the new rules broke, as tests.
  it.each([
    ['Tariff expectations rise as deadline nears', 'negative'],
    ['Tariff hike prospects recede as talks progress', 'positive'],
    ['Lighthizer downplays talk of trade deal breakthrough', 'negative'],
    ['Trump shows flexibility on China trade deal', 'positive'],
    ['Tariffs not close to being lifted, Mnuchin says', 'negative'],
    ['U.S. to keep up tariffs on China until deal is signed', 'negative'],
    ['Opinion polls show voters back new China tariffs', 'negative'],
    ['Trade war hits Asia factories - charts', 'negative'],
  ])(
    '%s: hopes move what they hope for, officials who play down deny, flexibility only on measures (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it.each([
    ['Chip shortage nowhere near over, Ford CEO warns', 'negative'],
    ['GM says it will not close Ohio plant after all', 'positive'],
    ['Container lines not close to clearing backlog', 'negative'],
    ['Shortage expectations ease as supply improves', 'positive'],
  ])(
    '%s: "not close to" and "nowhere near" negate what follows; "will not close" is the verb denied (supply %s)',
    (h, want) => {
      expect(supply(h).label).toBe(want)
    },
  )
  it.each([
    'Banks ration credit to small firms',
    'Startups struggle to source funding as investors retreat',
    'Hospitals face ICU capacity crunch as COVID surges',
  ])('%s: rationing credit, sourcing funding, hospital capacity are no supply chain', (h) => {
    expect(supply(h).label).toBeNull()
  })
  it('reads a WTO panel ruling on export subsidies as no export control', () => {
    expect(tariff('WTO panel rules on export subsidies in Airbus case').label).not.toBe('negative')
  })
  it('keeps the supply reading of a ban on exports of a good extended', () => {
    expect(supply('India extends ban on exports of onions').label).toBe('negative')
  })
})

describe('issue #3: round 24, from two fresh probes of our own headlines (2.0.40)', () => {
  it.each([
    ['Bid to end trade war fails', 'negative'],
    ['Push to lift steel tariffs stalls', 'negative'],
    ['Effort to cut tariffs falls apart', 'negative'],
    ['Senate bid to block tariffs fails', 'negative'],
    ['Proposal to scrap tariffs rejected', 'negative'],
    ['Talks to end trade war collapse', 'negative'],
    ['Plan to impose tariffs scrapped', 'positive'],
    ['Move to ban Huawei shelved', 'positive'],
  ])('%s: an attempt at an act that fails undoes the act, not its object (%s)', (h, want) => {
    expect(tariff(h).label).toBe(want)
  })
  it('keeps a noun after "of" that is no verb of failing out of it (the postal deal)', () => {
    expect(tariff("Global postal union reaches deal to prevent 'nightmare' of US exit").label).toBe(
      'positive',
    )
  })
  it.each([
    ['Tariffs on Chinese medical supplies lifted', 'positive'],
    ['Tariffs on medical supplies to be lifted', 'positive'],
    ['China offers to buy more U.S. semiconductors to cut trade surplus', 'positive'],
    ['Trump renews threat to cut ties with Beijing', 'negative'],
  ])(
    '%s: a participle is said of the measure heading its phrase; a second purpose takes no taken noun (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it.each([
    ['UK and EU trade talks deadlocked over fishing rights', 'negative'],
    ['Supreme Court voids emergency tariffs, opening door to refunds for importers', 'positive'],
    ['EU and US sign framework deal setting a 15% ceiling on tariffs', 'positive'],
    ['Wall Street rallies as Trump says a deal with China is close', 'positive'],
    ['Canadian provinces pull American liquor from shelves in protest at tariffs', 'negative'],
    ['China says it will not sit idly by if U.S. escalates trade war', 'negative'],
    ["Trudeau says Canada won't back down in NAFTA dairy dispute", 'negative'],
    ['Canada backs down in NAFTA dairy dispute', 'positive'],
    ['Washington refuses Huawei licence extension, rural carriers scramble for parts', 'negative'],
    ['U.S. lifts steel, aluminium tariffs on Canada and Mexico', 'positive'],
    ['U.S. imposes steel, aluminum tariffs on EU', 'negative'],
    ['WTO faces crisis unless Washington backs off from tariffs', 'negative'],
  ])(
    '%s: deadlock, voids, ceilings, "is close", shelves as a noun, negation stops at "if", lists of goods (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it.each(['Port is close to capacity', 'Factory is close to shutting'])(
    '%s: "is close" is progress only for talks and deals',
    (h) => {
      expect(supply(h).label).not.toBe('positive')
    },
  )
  it.each([
    ['Move to raise tariffs hits farmers', 'negative'],
    ['Plan to impose tariffs hurts farmers', 'negative'],
    ['Deal to cut tariffs hurts automakers', 'positive'],
    ['Deal allows tariffs to end next year', 'positive'],
    ['Court quashes appeal against steel tariffs', 'negative'],
    ['Beijing refuses US tariffs', 'negative'],
    ["Defying Trump, UK's Johnson refuses to ban Huawei from 5G", 'positive'],
    ['US extends tariff pause citing trade war', 'positive'],
  ])(
    '%s: the review of round 24 (2.0.41): harm is no failing, letting keeps its subject, annulment and refusal reach no further than their own object (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it.each([
    ['Tariffs on Chinese laptops, phones delayed to December', 'positive'],
    ['Attempt to lift tariffs collapses', 'negative'],
  ])(
    '%s: probe 8 (2.0.41): goods listed after "<measure> on", "no agreement to", a whitelist, attempt words by their text (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it('keeps the cuts after "from" a noun of change ("gain from cuts to tariffs" is no bare measure)', () => {
    expect(tariff('Stocks gain from cuts to tariffs').score).toBeGreaterThan(0)
  })
  it.each([
    ['Talks on global digital tax stall as U.S. walks out', 'negative'],
    ['Judge blocks TikTok ban', 'positive'],
    ["U.S. ends India's GSP trade benefits", 'negative'],
    ["Trump revokes Hong Kong's special trade status", 'negative'],
    ['Yuan hits strongest in months on trade deal hopes', 'positive'],
  ])(
    "%s: probe 8 (2.0.42): the talks' topic past an adjective, app bans, trade status, a level hit (%s)",
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it('reads an import level hit as no blow to trade ("imports hit 10-month low")', () => {
    expect(tariff("China's iron ore imports hit 10-month low in February on holiday break").label).not.toBe(
      'negative',
    )
  })
  it.each([
    ["China's Xi says will not bow to U.S. pressure on trade", 'negative'],
    ['China bows to U.S. pressure on trade', 'positive'],
    ['USTR removes smart watches, baby car seats from $200 billion tariff list', 'positive'],
    ['US toughens stance on Iran, ending exemptions from oil sanctions', 'negative'],
    ['Commerce rejects hundreds of steel tariff exclusion requests', 'negative'],
    ['EU rejects U.S. tariffs', 'negative'],
    ['U.S. grants quota-free exemption to Brazil on some semi-finished steel', 'positive'],
  ])(
    '%s: probe 9 (2.0.43): "until" a condition, bowing to pressure, goods off a tariff list, a rejected measure passed over, quota-free (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it('reads the act after "until" as a condition, hedged: no relief', () => {
    expect(
      tariff("Canada says won't drop retaliatory tariffs until U.S. lifts metals duties").label,
    ).not.toBe('positive')
  })
  it.each([
    ['Plan to cut tariffs scrapped this week', 'negative'],
    ['Deal to lift tariffs collapses Friday', 'negative'],
    ['No deal to raise tariffs on UK food, warns farmers union', 'negative'],
    ["Court voids most of Trump's global tariffs", 'positive'],
    ['Court quashes appeal against steel tariffs', 'negative'],
    ['EU refuses retaliatory tariffs on U.S. goods for now', 'positive'],
    ['Beijing refuses US tariffs', 'negative'],
    ['U.S. refuses steel tariff exemption for Canada', 'negative'],
    ['Trade deal with China now close, Trump says', 'positive'],
    ['Trump strips Hong Kong of special trade status', 'negative'],
    ['Pandemic hits peak season for trade deal purchases', 'negative'],
  ])(
    "%s: the review of 2.0.41-2.0.42 (2.0.44): times are no objects, no-deal Brexit, a court voids what it names, refusing one's own measure is restraint, deals now close, strips (%s)",
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it.each([
    'Google adds new domains to email whitelist',
    'Company bans TikTok on work phones',
    'Economists tally trade benefits of new port',
  ])("%s: a whitelist, a company's app ban and the benefits of trade are no trade measure", (h) => {
    expect(tariff(h).label).toBeNull()
  })
  it('reads sides close on a measure as near a deal on it, not more of it', () => {
    expect(tariff('Negotiators are close on auto tariffs').label).not.toBe('negative')
  })
})

describe('issue #3: round 26, from probe 10 (2.0.46)', () => {
  it.each([
    ['Trump abandons bid to end trade war', 'negative'],
    ['China backtracks on pledge to cut tariffs', 'negative'],
    ['China reneges on promise to buy U.S. soybeans', 'negative'],
    ['U.S. withdraws proposal to lift tariffs', 'negative'],
    ['U.S. drops plan for tariffs on French wine', 'positive'],
    ['China scraps plan to cut tariffs on U.S. cars', 'negative'],
    ['Senate vote to end Canada tariffs falls short', 'negative'],
    ['Senate vote to repeal steel tariffs fails', 'negative'],
    ['House votes to end tariffs on Canada', 'positive'],
  ])('%s: an attempt given up, gone back on, or a vote that fails, undoes its act (%s)', (h, want) => {
    expect(tariff(h).label).toBe(want)
  })
  it.each([
    ['U.S. delays imposing new sanctions on Russia', 'positive'],
    ['U.S. delays adding Chinese firms to entity list', 'positive'],
    ['U.S. holds off on adding Huawei to entity list', 'positive'],
    ['U.S. postpones raising tariffs on Chinese goods', 'positive'],
    ['EU delays cutting tariffs on U.S. lobster', 'negative'],
    ['U.S. postpones lifting sanctions on Russia', 'negative'],
  ])('%s: a pause takes the act it puts off; a cut put off is not done (%s)', (h, want) => {
    expect(tariff(h).label).toBe(want)
  })
  it.each([
    'Beijing tightens graphite exports citing national security',
    'China tightens rare earth exports',
    'U.S. tightens sanctions on Iran',
    'U.S. tightens chip export rules',
  ])('%s: tightening restricts a flow as it strengthens a measure', (h) => {
    expect(tariff(h).label).toBe('negative')
  })
  it('gives tightened exports an export control and tightened sanctions a sanction', () => {
    const types = (h: string) => score(h).events.map((e) => e.type)
    expect(types('China tightens rare earth exports')).toContain('export_control')
    expect(types('U.S. tightens sanctions on Iran')).toContain('sanction')
    expect(types('China tightens rare earth exports')).not.toContain('supply_restored')
  })
  it.each([
    ['Canada, U.S. agree to lift metals tariffs, easing path for USMCA', 'positive'],
    ['U.S., China narrow differences on trade deal text', 'positive'],
    ['Canada imposes 100% surtax on Chinese electric vehicles', 'negative'],
    ['Canada drops surtax on Chinese EVs', 'positive'],
    ["U.S. adds 33 Chinese entities to 'unverified list'", 'negative'],
    ['U.S. removes Chinese firms from unverified list', 'positive'],
  ])('%s: easing the path for a deal, gaps narrowed, surtaxes and the unverified list (%s)', (h, want) => {
    expect(tariff(h).label).toBe(want)
  })
  it.each([
    ['Exclusions for hundreds of Chinese products allowed to lapse, USTR says', 'negative'],
    ['U.S. allows tariff exclusions to lapse', 'negative'],
    ['U.S. allows tariff truce to lapse', 'negative'],
    ['U.S. allows exports to resume', 'positive'],
    ['Beijing allows soybean imports to resume', 'positive'],
  ])(
    '%s: relief let lapse ends; letting is no act of its own where the verb after it undoes (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it.each([
    ["Millionaires' surtax approved by Massachusetts voters", null],
    ['Biden proposes surtax on incomes over $10 million', null],
    ['Police release unverified list of suspects', null],
    ['Senate committee clears path for USMCA vote', 'positive'],
    ['EU tightens ties with Mercosur in trade deal', 'positive'],
    ['Trump threatens to drop bid for trade deal with Japan', 'negative'],
    ['China went back on its pledge to buy U.S. farm goods', 'negative'],
    ['U.S. withdrew proposal to lift tariffs', 'negative'],
    ['Trump goes back on deal to lift steel tariffs', 'negative'],
    ['China withdraws offer to cut tariffs', 'negative'],
    ['U.S. backs off plan to tighten chip export rules', 'positive'],
    ['U.S. delays exempting Canadian energy from tariffs', 'negative'],
    ['U.S. delays tightening chip export rules', 'positive'],
    ['Trump postpones hitting China with new tariffs', 'positive'],
  ])(
    '%s: the review of round 26: surtaxes and lists of other kinds, paths cleared, ties tightened, threats, irregular forms, owners, fixed acts put off (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it.each([
    "Fed's tightening weighs on emerging market exports",
    'Wall Street reverses move to record high on tariff worries',
  ])('%s: monetary tightening and a market reversing are no relief and no curb of exports', (h) => {
    expect(tariff(h).label).not.toBe('positive')
    expect(score(h).explanation.map((c) => c.cue)).not.toContain('tightening + exports')
  })
  it('reads the Rose Garden as a place, not a rise', () => {
    expect(
      score('Trump unveils reciprocal tariffs at Rose Garden event').explanation.map((c) => c.cue),
    ).not.toContain('rose + tariffs')
    expect(tariff('Trump unveils reciprocal tariffs at Rose Garden event').label).toBe('negative')
  })
})

describe('issue #3: round 27, from probe 11 (2.0.48)', () => {
  it.each([
    ['Trump says China trade deal may have to wait until after election', 'negative'],
    ['Markets slump after Trump says trade deal could wait', 'negative'],
    ['Pessimism grows over China trade deal as deadline nears', 'negative'],
    ['Kudlow says trade talks going backward', 'negative'],
    ['Trade talks have gone backwards, EU official says', 'negative'],
  ])(
    '%s: a deal that must wait, pessimism over it, talks going backward, the unreliable list (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it.each([
    ['Auto tariffs can wait, Ross says', 'positive'],
    ['Tariff relief may have to wait, Mnuchin says', 'negative'],
    ['China says it can wait out the trade war', 'negative'],
  ])(
    '%s: what must wait is put off, a measure as a deal; waiting out a contest is no end to it (%s)',
    (h, want) => {
      expect(tariff(h).label).toBe(want)
    },
  )
  it.each([
    ['Optimism replaces pessimism over China trade deal', 'negative'],
    ['No reason for pessimism over trade talks, Kudlow says', 'negative'],
    ['Pessimism over trade deal misplaced, Mnuchin says', 'negative'],
  ])('%s: pessimism named, not growing, is no setback (not %s)', (h, not) => {
    expect(tariff(h).label).not.toBe(not)
  })
  it.each([
    'Shell restricts exports from Nigeria terminal after pipeline leak',
    'Boeing restricts shipments of 737 MAX parts',
  ])('%s: a firm restricting its own shipments is no trade measure', (h) => {
    expect(tariff(h).label).toBeNull()
  })
  it('reads investors waiting for talks as no setback', () => {
    expect(tariff('Investors wait for trade talks outcome').label).not.toBe('negative')
  })
})

describe('issue #3: round 28, from probe 12 (2.0.52)', () => {
  it.each([
    ['U.S. cuts Turkish steel tariffs back to 25%', 'positive'],
    ["U.S. won't budge on tariffs, Lighthizer says", 'negative'],
    ['China budges on trade demands', 'positive'],
    ['Neither side budges in trade talks', 'negative'],
    ['Neither country will lift tariffs soon', 'negative'],
  ])('%s: a level returned to, buyers shunning, ground given or not, neither side (%s)', (h, want) => {
    expect(tariff(h).label).toBe(want)
  })
})

describe('the review of 2.0.52 (2.0.53)', () => {
  it.each([
    'Port of Los Angeles back to normal operations after strike ends',
    'Chip supply back to normal by mid-2022, TSMC says',
  ])('%s: things back to normal are restored', (h) => {
    expect(supply(h).label).toBe('positive')
  })
  it.each(['Investors shun tariff-hit stocks', 'Investors shun companies exposed to China tariffs'])(
    '%s: shunning what a measure hit is no relief from it',
    (h) => {
      expect(tariff(h).label).not.toBe('positive')
    },
  )
})

describe('issue #3: round 29, from probe 13 (2.0.54)', () => {
  it.each([
    ['Mnuchin says U.S. ready to move forward with tariffs if no deal', 'negative'],
    ['U.S. moves forward with trade deal', 'positive'],
    ['EU says it will not cave on agriculture in U.S. trade talks', 'negative'],
    ['EU caves on tariffs', 'positive'],
    ['Xi says China will not be bullied on trade', 'negative'],
  ])('%s: going ahead with what is named, giving in or not, defiance (%s)', (h, want) => {
    expect(tariff(h).label).toBe(want)
  })
  it('the review of 2.0.54: defiance denied and a tone denied are no relief of their own', () => {
    const h = "China says it won't negotiate with a gun to its head in trade talks"
    expect(
      score(h)
        .explanation.filter((c) => c.weight > 0.3)
        .map((c) => c.cue),
    ).toEqual([])
    expect(tariff("China's Xi in no mood to be conciliatory on trade, says envoy").label).not.toBe('positive')
  })
})

describe('issue #3: round 30, from probes 14 and 15 and their review (2.0.56)', () => {
  it.each([
    'GoPro to move U.S.-bound camera production out of China to avoid tariffs',
    'Honeywell eyes supplier shift to avoid tariff hit',
  ])('%s: a firm making things elsewhere to avoid a measure copes with it (no relief)', (h) => {
    expect(tariff(h).label).not.toBe('positive')
    expect(score(h).explanation.some((c) => c.dimension === 'tariff' && c.cue.startsWith('avoid'))).toBe(
      false,
    )
  })
  tariffCases([
    // Moving alone, an offer, or another clause: the avoiding is averting.
    ['EU moves quickly to avoid trade war with U.S.', 'positive'],
    ['Brazil agrees to steel output quota to avoid U.S. tariffs', 'positive'],
    ['Steel output rises after Mexico avoids U.S. tariffs', 'positive'],
    // A threat given up, and refusing to give it up.
    ['Trump walks back threat to raise tariffs', 'positive'],
    ['Trump backs away from threat to impose tariffs on European cars', 'positive'],
    ['Trump refuses to drop threat to raise tariffs on China', 'negative'],
    ['Trump has no plans to drop threat of new tariffs on China', 'negative'],
    // What is agreed, broken; "break" in other senses is not.
    ["Trump says China 'broke the deal'", 'negative'],
    ['Trump says China will not break the trade truce', 'positive'],
    ['U.S. and China break the deadlock in trade talks', 'positive'],
    ['Trade war broke out in 2018, hurting farmers', 'negative'],
    // Duty and tariffs in other senses; duty-free access for goods is a relief.
    ['Firefighter killed on duty in California blaze', null],
    ['India cuts excise duty on petrol and diesel', null],
    ['Duty-free sales surge at Heathrow', null],
    ['Reliance Jio hikes prepaid tariffs by up to 40%', null],
    ['Palm oil futures rise on duty cut hopes', 'positive'],
    ['Business groups call tariffs a tax on Americans', 'negative'],
    ['Trump scraps de minimis duty-free treatment for all countries', 'negative'],
    ['U.S. restores duty-free status for Indian goods', 'positive'],
    ['U.S. delays end of duty-free treatment for India', 'positive'],
    ['CFTC lowers de minimis threshold for swap dealers', null],
    // Negation of talks, a tightening denied, a negotiator named by the measure.
    ['Mnuchin says no plans for more talks with China for now', 'negative'],
    ['Chinese state media says Beijing has no interest in continuing talks', 'negative'],
    ["Japan's Abe says no plan to tighten export controls on South Korea further", 'positive'],
    ["Japan's tariff negotiator says sides 'closer to agreement'", 'positive'],
  ] as [string, string][])
})

describe('issue #3: round 31, from probes 16 and 17 (2.0.57)', () => {
  tariffCases([
    // A report denied, before it or after it.
    ['USTR rejects report that China tariffs will be rolled back', 'negative'],
    ["Report that U.S. will ease chip curbs 'untrue', Commerce says", 'negative'],
    // Progress ("on track" stays progress: a relief on track, "plan to lift steel tariffs on track", is
    // more common than a measure on track).
    ['U.S.-China trade talks on track, Kudlow says', 'positive'],
    ['Plan to lift steel tariffs on Canada and Mexico on track', 'positive'],
    // A harder line.
    ['China takes harder line on rare earth exports', 'negative'],
  ] as [string, string][])
  it('a denial after a report reverses what the report said, and only that', () => {
    const denied = tariff("Commerce says report that U.S. will lift chip curbs is 'false'")
    const reported = tariff('Commerce says report that U.S. will lift chip curbs')
    expect(Math.sign(denied.score)).toBe(-Math.sign(reported.score))
    expect(reported.score).toBeGreaterThan(0)
    // No report word before it: "false" alone denies nothing.
    expect(tariff('Trump tariffs based on false claims about China').score).toBeLessThan(0)
  })
  it('the review of 2.0.57: a denial word before a noun, or past another clause, denies nothing', () => {
    const plain = tariff('Watchdog report says tariff exclusions were granted').score
    expect(tariff('Watchdog report says tariff exclusions were granted on inaccurate data').score).toBe(plain)
    // The report's delay stays a delay: the denial is of the fears, in the "as" clause.
    expect(
      tariff("Report of tariff delay lifts stocks as Trump calls China trade fears 'fake news'").score,
    ).toBe(tariff('Report of tariff delay lifts stocks as Trump calls China trade fears overblown').score)
  })
})

describe('issue #3: round 32, from probes 18 and 19 (2.0.59)', () => {
  tariffCases([
    // Said to be finished: less of what is named.
    ['Greece relaxes capital controls to prove worst of turmoil is over', null],
    ['Trade deal hangs by a thread', 'negative'],
    // A surcharge on imports is a tariff; a fuel surcharge, or one on a partner's flights, is not.
    ['Canada slaps 25% surcharge on imports of U.S. steel', 'negative'],
    ['Airline adds fuel surcharge', null],
    ['Air Canada scraps surcharge on U.S. flights', null],
  ] as [string, string][])
})

describe('issue #3: round 33, from probes 20 and 21 (2.0.61)', () => {
  tariffCases([
    // A deal or truce acting on an object of its own is not taken away by the verb.
    ["Ifo index climbs as U.S.-China truce lifts exporters' mood", 'positive'],
    ['World Bank says U.S.-China truce removes a major drag on growth', 'positive'],
    ['Trade truce ends in failure', 'negative'],
    // Hopes dimming.
    ['Trade deal hopes dimmed as talks stall', 'negative'],
    ['Investors take dim view of Trump tariffs', 'negative'],
    // The other agreements by name.
    ['Peru ratifies CPTPP', 'positive'],
    ['France says it will not ratify EU-Mercosur deal', 'negative'],
    // A date after "until end of" ends nothing; duty-free imports and a duty moratorium are reliefs.
    ['Russia extends ban on Western food imports until end of 2020', 'negative'],
    ['WTO members agree to extend e-commerce duty moratorium', 'positive'],
  ] as [string, string][])
  it('a bare deal, not trade-named, is not taken for an acting subject', () => {
    expect(tariff('Ceasefire deal ends fighting in Gaza').label).not.toBe('positive')
  })
  it('a flow of goods stopped is still stopped whatever follows the verb', () => {
    expect(supply('GM Canada says Oshawa production stopped due to supplier strike').label).toBe('negative')
  })
})

describe('issue #3: round 34, from probes 22 and 23 (2.0.63)', () => {
  tariffCases([
    // A deadline put off is more time before the measure, as one extended is; one not put off is not.
    ['White House delays the tariff deadline by two weeks', 'positive'],
    ['Trump postpones trade deal deadline', 'positive'],
    ['Trump will not delay tariff deadline, aide says', 'negative'],
    // A verb of more time acts on the deadline a measure is named with, not on the measure.
    ['U.S. extends March 1 deadline for tariff hike on Chinese goods', 'positive'],
    ['Commerce extends Huawei ban deadline again', 'positive'],
    ['U.S. extends tariffs on Chinese solar panels', 'negative'],
    // A rate set and compared with a higher one is a cut; compared with a lower one, a rise.
    ['Deal sets tariff on Japanese cars at 15%, down from 27.5%', 'positive'],
    ['Korea tariff set at 15%, lower than the 25% threatened', 'positive'],
    ['EU steel duty set at 15%, well short of the 50% feared', 'positive'],
    ['U.S. sets tariff on Canadian lumber at 20%, up from 14%', 'negative'],
    // A stop put on an act: the act not done.
    ['Commerce tells chipmakers to stop shipping AI chips to China', 'negative'],
    ['Beijing orders state firms to stop buying U.S. farm goods', 'negative'],
    ['India to stop cutting import duties on electronics', 'negative'],
    // A participle of letting after a noun says what the noun allows.
    ['U.S. revokes waivers allowing Samsung to ship chip tools to China', 'negative'],
    // Refunds of duties, anti-dumping margins.
    ['Customs approves refunds of import duties paid on excluded goods', 'positive'],
    ['Commerce lowers final anti-dumping margin on Vietnamese shrimp to 2%', 'positive'],
    ['Commerce sets preliminary dumping margins of 90% on Chinese quartz', 'negative'],
    // Put off to a date.
    ['Aug 1 tariffs pushed to Aug 7 as talks continue', 'positive'],
    // A measure named as a compound with a plain noun inside.
    ['Japan scales back planned chip tool curbs', 'positive'],
    // A passive after "be" is said of the measure that opens its clause.
    ['Tariffs on $200 billion of Chinese goods will be lifted, official says', 'positive'],
    ['Sanctions on Russian aluminium giant Rusal to be removed', 'positive'],
    ['Tariffs on $34 billion of Chinese goods will be raised on Friday', 'negative'],
  ] as [string, string][])
  it('a figure compared with another keeps its market tone where no trade measure precedes it', () => {
    const r = score('Net sales EUR 5 mn, down from EUR 7 mn')
    expect(r.scores.tariff.label).toBeNull()
    expect(r.scores.market.label).toBe('negative')
  })
  it('refunds of duties that are not customs duties are no trade relief', () => {
    expect(tariff('Treasury approves refunds of duties on fuel').label).not.toBe('positive')
  })
  it('a passive reached past a verb of its own is not said of the measure', () => {
    expect(tariff('Tariffs hurt farmers who will be compensated').label).not.toBe('positive')
  })
})

describe('issue #3: round 34 review (2.0.64)', () => {
  tariffCases([
    // A rate compared with another partner's, or with what an industry sought, is no cut.
    ['U.S. sets UK tariff at 10%, lower than the 20% on EU goods', 'negative'],
    ['Anti-dumping duty on Chinese steel set at 25%, lower than the 30% sought by industry', 'negative'],
    // A deal's deadline extended gives the deal more time; a measure in force ends at its deadline.
    ['Trump extends deadline for China trade deal', 'positive'],
    ['Trump delays deadline for auto tariffs by six months', 'positive'],
    ['EU extends steel safeguard deadline by two years', 'negative'],
    // A participle after a measure another verb took describes it.
    ['Trump says he will delay tariff hike on Chinese goods set for March 1', 'positive'],
    // A passive after "be" said of a trade relief or truce that opens the clause.
    ['Tariff exclusions for Chinese medical gear will be extended', 'positive'],
    ['Trade truce with China not expected to be extended, officials say', 'negative'],
    // Closing a deal completes it; closing the door on one does not.
    ['U.S. closes trade deal with Japan', 'positive'],
    ['Trump closes door on trade deal', 'negative'],
  ] as [string, string][])
  it('a deadline of a ban that is no trade measure is not made one', () => {
    expect(tariff('EU delays combustion engine ban deadline').label).toBeNull()
  })
  it('a passive is not said of a name that opens a clause with a verb of its own', () => {
    expect(supply('Cobalt Air warns passengers that all flights are cancelled').label).toBeNull()
  })
  it('an act still to be decided is not read as done against the deal', () => {
    expect(tariff('Trump says yet to decide whether to close trade deal with China').label).not.toBe(
      'negative',
    )
  })
  it('domestic curbs are not reached past a good', () => {
    expect(tariff('China relaxes coal mine safety curbs').label).toBeNull()
  })
  it('stopping a misdeed is not undoing it', () => {
    expect(tariff('EU moves to stop dumping of Chinese steel').label).not.toBe('positive')
  })
  it('a verb in its own right after a measure taken by another is still an act', () => {
    const r = score('Approval of AI chip sales to China triggers national security concerns')
    expect(r.explanation.some((c) => c.cue.startsWith('triggers +'))).toBe(true)
  })
})

describe('issue #3: round 35, probe 25 and the review of 2.0.64 (2.0.65)', () => {
  tariffCases([
    // A compared figure said to be announced or levied before, past a name; not another partner's.
    ['U.S. sets Vietnam tariff at 20%, lower than the 46% Trump announced in April', 'positive'],
    ['Swiss tariff set at 15%, lower than the 39% levied in August', 'positive'],
    ['U.S. sets UK tariff at 10%, lower than the 20% imposed on EU goods', 'negative'],
    // A passive after "be" is said of the relief that opens its clause, not the measure it spares.
    ['Exemptions from steel tariffs for Canada to be scrapped', 'negative'],
    ['Tariffs on Chinese laptops, phones to be delayed until Dec. 15', 'positive'],
    // An adjective of more with a plain word of its noun phrase is taken with it.
    ['Trump pauses higher reciprocal tariffs for 90 days', 'positive'],
    // A decision taken back; a measure ruled illegal.
    ['Trump reverses decision to lift tariffs on Canadian aluminum', 'negative'],
    ['Appeals court rules most of Trump global tariffs illegal', 'positive'],
    // A policy act on sales bound for China is one on exports.
    ['U.S. restricts sales of chip design software to China', 'negative'],
  ] as [string, string][])
  it('a firm halting its own sales elsewhere is no trade measure', () => {
    expect(tariff('Apple halts sales of iPhones in Germany').label).toBeNull()
  })
  it('"illegal" before its noun describes it', () => {
    expect(tariff('Court hears challenge to illegal tariffs').label).not.toBe('positive')
  })
  it('a deal of any kind gets no trade deadline', () => {
    expect(tariff('Musk wins deadline extension for Twitter deal').label).not.toBe('positive')
  })
  it('closing a deal other than a trade deal is no trade news', () => {
    expect(tariff('Thomson Reuters closes deal with Blackstone').label).toBeNull()
  })
})

describe('issue #3: round 36, acts denied after them, opposed, and left open (2.0.67)', () => {
  tariffCases([
    // Poor prospects said after the act that takes a measure are the act's: new tariffs unlikely are
    // relief; relief named as a noun and then ruled out is a setback.
    ['New tariffs unlikely, says Mnuchin', 'positive'],
    ['Higher tariffs off the table, says Lighthizer', 'positive'],
    ['Lifting of sanctions on Russia off the table, says EU', 'negative'],
    ['A rollback of tariffs is not on the table, says Navarro', 'negative'],
    // "Ruled out" with nothing after it denies what its clause named before it.
    ['Removal of tariffs ruled out', 'negative'],
    ['Tariff rollback ruled out by White House', 'negative'],
    ['New tariffs ruled out', 'positive'],
    ['Tariff hike ruled out', 'positive'],
    // Not the denial of what follows, which "rules out" still is.
    ['Trump rules out tariff rollback', 'negative'],
    // Disapproval of an act is friction over its object, whichever way the act would move it.
    ['EU opposed to lifting tariffs', 'negative'],
    ['Republican senator slams lifting of ban on ZTE', 'negative'],
    ['Lawmakers oppose easing sanctions on ZTE', 'negative'],
    // Openness to an act keeps it possible; not opposing it is no disapproval.
    ['EU open to lifting tariffs on U.S. lobster', 'positive'],
    ['EU not opposed to lifting tariffs on U.S. lobster', 'positive'],
    ['EU not opposed to new tariffs on China', 'negative'],
    // Not done so far.
    ['U.S. has yet to grant Huawei licences', 'negative'],
    ['China yet to lift ban on U.S. beef', 'negative'],
    ['U.S. has yet to impose tariffs on Mexico', 'positive'],
  ] as [string, string][])
  it('an act disapproved of brings no market tone of its own', () => {
    expect(score('EU opposed to lifting tariffs').explanation.some((c) => c.cue === 'lifting')).toBe(false)
  })
  it('poor prospects of the act take the place of its cue on the measure', () => {
    const cues = score('New tariffs unlikely, says Mnuchin').explanation.map((c) => c.cue)
    expect(cues).not.toContain('unlikely + tariffs')
  })
  it('"ruled out" before its object is not said of what came before', () => {
    expect(tariff('After new tariffs, Beijing ruled out trade talks').label).toBe('negative')
  })
  it('what is still to come is not "yet to" done', () => {
    expect(tariff('Best is yet to come for trade deal, says Trump').label).not.toBe('negative')
  })
})

describe('issue #3: round 36 review, mended in 2.0.68', () => {
  tariffCases([
    // Poor prospects denied are none: the act keeps its own reading.
    ['New tariffs not unlikely, Navarro says', 'negative'],
    ['Lifting of tariffs on Chinese goods not unlikely, Mnuchin says', 'positive'],
    ['New tariffs not in doubt, Trump says', 'negative'],
    ['Lifting of sanctions far from off the table', 'positive'],
    // "Not likely" is poor prospects.
    ['Lifting of steel tariffs not likely, says Ross', 'negative'],
    // A start still to come, a report or a word awaited: no act denied.
    ['EU retaliatory tariffs yet to kick in', 'negative'],
    ['New tariffs yet to take effect as talks continue', 'negative'],
    ["Trump's biggest tariffs yet to hit Chinese consumer goods on Sunday", 'negative'],
    // "Ruled out" past a phrase of place denies what came before it; past what is only answered too.
    ['Removal of tariffs ruled out in trade talks with EU', 'negative'],
    ['Retaliation against U.S. tariffs ruled out by Japan', 'positive'],
    // A stance is taken on the act, whichever way the act went.
    ['Exporters slam Commerce for denying tariff exclusions', 'negative'],
  ] as [string, string][])
  it('a threat of a measure is not denied by its poor prospects', () => {
    expect(tariff("Trump's threat of new tariffs unlikely to materialize").label).not.toBe('negative')
  })
  it('a report or a date still awaited denies no act', () => {
    expect(tariff('Customs yet to publish tariff refund rules').label).not.toBe('negative')
    expect(tariff('China has yet to confirm date for trade talks').label).not.toBe('negative')
  })
  it('an explanation ruled out is no measure denied', () => {
    expect(tariff('Tariffs ruled out as factor in Fed decision').label).not.toBe('positive')
  })
})

describe('issue #3: round 37, probes 26 and 27 (2.0.69)', () => {
  tariffCases([
    // A regime or list of licences is the control requiring them; rules on chip sales are controls.
    ['China to keep rare earth licensing regime in place indefinitely, ministry says', 'negative'],
    ['White House scraps Biden-era chip rule', 'positive'],
    ['Commerce rescinds AI diffusion rule', 'positive'],
    // What is rebuffed is not done.
    ["Lutnick rebuffs chipmakers' plea to loosen China export rules", 'negative'],
    // A verb of bringing about takes the act named as a noun after it, which acts on the measure.
    ['Britain secures cut in U.S. car tariffs', 'positive'],
    ['EU wins reduction of steel duties', 'positive'],
    ['Mexico wins delay of tariffs', 'positive'],
  ] as [string, string][])
  it('a probe or review of a plant is no act on it', () => {
    expect(supply('California agency opens third probe into Tesla factory').label).not.toBe('negative')
  })
})

describe('issue #3: round 37, bodies and firms (2.0.70)', () => {
  tariffCases([
    // A trade framework is a deal's outline agreed.
    ['EU and U.S. reach trade framework', 'positive'],
    // Firms named by what they make are firms: the list grows or shrinks, not the chips.
    ['U.S. adds Chinese chip firms to blacklist', 'negative'],
    ['U.S. removes Chinese chip firms from entity list', 'positive'],
  ] as [string, string][])
  const tariffCues = (headline: string, body: string) =>
    score(headline, body).explanation.filter((c) => c.dimension === 'tariff' && c.span.field === 'body')
  it('an act a body tells in the past perfect is the background, weighing less than the news', () => {
    const r = score(
      'Britain secures cut in U.S. car tariffs',
      'Up to 100,000 British cars a year will face a 10% tariff rather than 27.5%. Trump had imposed 25% tariffs on imported cars in April.',
    ).scores.tariff
    expect(r.label).toBe('positive')
    const [cue] = tariffCues('Cars', 'Trump had imposed tariffs on cars in April.')
    expect(cue?.cue).toBe('imposed + tariffs')
    expect(Math.abs(cue?.weight ?? 1)).toBeLessThan(0.5)
  })
  it('a past perfect in reported speech is the news', () => {
    const [cue] = tariffCues(
      'Markets',
      'China said Beijing and Washington had agreed to roll back tariffs in phases.',
    )
    expect(cue?.cue).toBe('roll back + tariffs')
    expect(cue?.weight).toBeGreaterThanOrEqual(0.9)
  })
})

describe('issue #3: round 37 review, mended in 2.0.71', () => {
  tariffCases([
    // A licence regime for exports or strategic goods is a control; the phrase beats "export licence".
    ['Beijing eases export licence regime for rare earth magnets', 'positive'],
    ['Trump to scrap AI chip rule', 'positive'],
  ] as [string, string][])
  it('"ruled out" said of what came before it negates nothing after it', () => {
    const r = score('Tariff hike ruled out in talks with China')
    expect(r.scores.tariff.label).toBe('positive')
    expect(r.explanation.some((c) => c.cue === 'talks' && c.weight < 0)).toBe(false)
  })
  it('a licence regime of no trade (alcohol, fishing) is no trade measure', () => {
    expect(tariff('Scotland tightens alcohol licence regime for supermarkets').label).toBeNull()
    expect(tariff('India tightens fishing licence regime in Arabian Sea').label).toBeNull()
  })
  it('"none of" does not flip a measure named as a modifier', () => {
    expect(tariff('None of the tariff revenue will go to farmers, Bessent says').label).not.toBe('positive')
  })
  const bodyCue = (body: string) =>
    score('Markets', body).explanation.find((c) => c.dimension === 'tariff' && c.span.field === 'body')
  it('a past perfect reported by a verb after it in its sentence is the news', () => {
    expect(
      bodyCue('Washington had lifted the duties on Canadian steel, officials said.')?.weight,
    ).toBeGreaterThanOrEqual(0.9)
  })
  it('a past perfect with an adverb or "not" before its participle is still background', () => {
    expect(
      Math.abs(bodyCue('Washington had quietly lifted the duties on Canadian steel.')?.weight ?? 1),
    ).toBeLessThan(0.5)
  })
  it('"added" and "reported" are no reporting of speech when they take an object', () => {
    expect(
      Math.abs(
        bodyCue('The company added 200 jobs after Washington had imposed duties on steel.')?.weight ?? 1,
      ),
    ).toBeLessThan(0.5)
  })
})

describe('issue #3: round 38, quotas, fewer, an article after the verb, "declines to", milder than feared, "hopes to"', () => {
  tariffCases([
    // A quota's level is what it lets in: cut, less gets in; raised, more does.
    ['U.S. cuts import quota for Mexican sugar', 'negative'],
    ['Washington slashes sugar quota for Dominican Republic', 'negative'],
    ['Quota for Korean steel cut by 30%', 'negative'],
    ['U.S. raises sugar import quota', 'positive'],
    ['Japan expands rice import quota in trade deal', 'positive'],
    ['US grants additional sugar quota to Mexico', 'positive'],
    // Imposing or lifting a quota acts on it as on any measure.
    ['China imposes import quotas on U.S. soybeans', 'negative'],
    ['U.S. lifts steel quotas on Brazil', 'positive'],
    // "fewer" before what is granted or imposed, as "lower" before it.
    ['Commerce grants fewer exemptions from steel tariffs', 'negative'],
    ['Commerce grants fewer steel tariff exclusions', 'negative'],
    ['U.S. grants fewer Chinese steel exclusions', 'negative'],
    ['Trump imposes fewer tariffs than expected', 'positive'],
    ['U.S. grants reduced duties on Japanese cars', 'positive'],
    // An article right after the verb opens its object; the noun on its left is not what it acts on.
    ['Trump order postponing the higher tariffs on Chinese goods', 'positive'],
    // "declines to" refuses the act after it.
    ['China declines to lift tariffs on U.S. soybeans', 'negative'],
    ['Court declines to block Trump tariffs', 'negative'],
    ['U.S. trade judge declines to block iPhone imports', 'positive'],
    ['U.S. declines to impose tariffs on Mexican tomatoes', 'positive'],
    // A measure milder or harsher than was feared, read by the comparison alone ("new" was expected).
    ['New export rules less restrictive than feared', 'positive'],
    ['U.S. chip curbs softer than expected', 'positive'],
    ["China's retaliation less severe than expected", 'positive'],
    ['Huawei curbs tougher than expected, shares fall', 'negative'],
    // Hoping to do it is asking for it: relief hoped for is no relief, a measure hoped for a threat.
    ['Japan hopes to cut tariffs on U.S. beef', 'neutral'],
    ['Japan hopes to secure cut in car tariffs', 'neutral'],
    ['U.S. hopes to impose tariffs on French wine', 'negative'],
  ] as [string, string][])
  it('a market rising on hopes keeps its reading of what is hoped for', () => {
    expect(tariff('Stocks rise on hopes to end trade war').label).toBe('positive')
  })
  it('a fall "to" a level, a figure or a place is no refusal', () => {
    for (const h of [
      'Chinese exports to U.S. declined to a record low',
      "China's exports to U.S. declined to lowest since 2016",
      'Steel imports declined to $5 billion',
    ])
      expect(
        score(h).explanation.some((c) => c.cue.startsWith('declined to')),
        h,
      ).toBe(false)
  })
  it('a word declined is no act refused', () => {
    expect(tariff('Treasury declines to comment on tariffs').label).not.toBe('positive')
  })
  it('a word of decrease that may be a verb describes only the noun right after it', () => {
    const cue = score('Intel data center rebound eases U.S.-China trade war worries').explanation.find(
      (c) => c.cue === 'rebound + trade war',
    )
    expect(cue?.weight).toBeLessThan(0)
  })
  it('oil output quotas and quotas of no trade are no trade quotas', () => {
    for (const h of [
      'OPEC oil quotas cut by 1.2 million bpd',
      'Google cuts API quota',
      'Germany cuts refugee quota',
    ])
      expect(tariff(h).label, h).toBeNull()
  })
})

describe('issue #3: round 38, probe 28 (Reuters-style 2018-2020 trade headlines)', () => {
  tariffCases([
    // An act named as a noun that stalls is not done.
    ['USMCA ratification stalls in Congress as Democrats demand labour changes', 'negative'],
    ['Ratification of the USMCA stalls', 'negative'],
    ['Tariff cut stalls', 'negative'],
    // The measure a truce is on is what it covers: "new" only describes it.
    ['U.S., China agree to 90-day truce on new tariffs at G20 dinner', 'positive'],
    ['China, U.S. extend truce on new tariffs', 'positive'],
    ['Truce on new tariffs collapses', 'negative'],
    ['EU and US agree standstill on new tariffs', 'positive'],
    ['Lifting of sanctions on Iran paused', 'negative'],
    // Hopes dashed or dimmed.
    ['Chinese delegation cancels U.S. farm visits, dashing trade hopes', 'negative'],
    ['Huawei curbs dim hopes for trade deal', 'negative'],
    // A firm named by its trade ships nothing.
    ['U.S. lifts sanctions on Chinese shipping giant COSCO unit', 'positive'],
    // Time to comply is a reprieve.
    ['U.S. gives Rusal more time to comply with sanctions', 'positive'],
    ['Treasury grants extra time to comply with Venezuela sanctions', 'positive'],
    // What "until" names has not happened.
    ["China won't resume soybean purchases until tariffs are lifted -sources", 'negative'],
    ['U.S. to suspend tariffs until deal is reached', 'positive'],
    // Put on hold past what the object is with or against.
    ['Seoul puts WTO dispute with Tokyo on hold, citing dialogue on chip materials', 'positive'],
    ['Trump puts tariffs on China on hold', 'positive'],
    ['Trump puts new tariffs on China', 'negative'],
    // A complaint at the WTO is a trade dispute, no company's cost.
    ['Canada withdraws WTO complaint over steel tariffs', 'positive'],
    ['China files WTO complaint', 'negative'],
  ] as [string, string][])
  it('plants kept suspended are a disruption kept', () => {
    expect(
      score('Honda to keep vehicle plants in Wuhan suspended through Feb. 13').scores.supplyChain.label,
    ).toBe('negative')
  })
  it('a pause far from an act on the same noun does not stop it ("sale of shut refinery ... delayed")', () => {
    expect(
      score('Sale of shut Philly refinery to real estate developer delayed').scores.supplyChain.label,
    ).toBe('negative')
  })
  it('an act before an adjective of stopping and its noun is no stalled act', () => {
    expect(tariff('India asks telcos to block banned Chinese apps').label).not.toBe('positive')
  })
  it('"until further notice" is no trade reading', () => {
    expect(
      tariff("China's Tianjin closes schools, firms until further notice to curb virus").label,
    ).toBeNull()
  })
})

describe('issue #3: round 38, probe 29 (Reuters wire forms of 2018-2020)', () => {
  tariffCases([
    // Palm oil is a farm good, not crude: the cut takes the duty after it.
    ['India cuts crude palm oil import duty to 27.5%', 'positive'],
    // Found to break trade rules is ruled illegal.
    ['WTO panel rules U.S. tariffs on Chinese goods broke trade rules', 'positive'],
    ['China says U.S. tariffs break WTO rules', 'negative'],
    // A ruling voids the act it names, as a stall stops it.
    ["U.S. trade court rules Trump's doubling of Turkish steel tariffs unlawful", 'positive'],
    ['Court rules cut of tariffs unlawful', 'negative'],
    // Coming into force is the act named before it done.
    ["Japan's removal of South Korea from trade white list takes effect", 'negative'],
    ['Removal of tariffs takes effect', 'positive'],
    ['Doubling of steel tariffs takes effect', 'negative'],
    // A list of trusted trading partners is a preference.
    ['Japan removes South Korea from white list of trusted trading partners', 'negative'],
    ['Japan restores South Korea to trade white list', 'positive'],
    // "until" ends what the measure before it is said to do.
    ['Tariffs to remain until China meets demands', 'negative'],
    ['Tariffs to remain until China agrees to reforms', 'negative'],
  ] as [string, string][])
  it('a restart put off is a disruption kept', () => {
    expect(
      score('Volkswagen says restart of some China plants postponed until February 17').scores.supplyChain
        .label,
    ).toBe('negative')
  })
  it('palm oil is a farm good', () => {
    expect(score('India cuts crude palm oil import duty').entities.commodities).toEqual(['farm_goods'])
  })
})

describe('issue #3: round 39 (session 34)', () => {
  tariffCases([
    // A modal after a verb of intent: the verb waits for the act after the modal, which takes its
    // object ("signals + tariffs" had read "lift tariffs" as more of them).
    ['U.S. signals it may lift tariffs', 'positive'],
    ['China signals it could halt soybean purchases', 'negative'],
    ['China considers it may halt soybean purchases', 'negative'],
    ['China signals it may raise tariffs', 'negative'],
    ['China signals it may cut tariffs', 'positive'],
    ['Trump threatens he could raise tariffs', 'negative'],
    // Made a weapon of: used against a partner, whichever side it stands on.
    ['China signals it may weaponise rare earth exports', 'negative'],
    ['Beijing accuses U.S. of weaponizing tariffs', 'negative'],
    // Kept out: spared by a measure, shut out of a deal.
    ['Canada could be left out of new NAFTA, U.S. officials say', 'negative'],
    ['Mexico excluded from trade deal', 'negative'],
    ['EU steel excluded from new U.S. tariffs', 'positive'],
    // A market reopened to a partner's goods: the verb takes them; to traders or tourists, no trade.
    ['Saudi Arabia reopens markets to Qatari imports', 'positive'],
    ['NYSE reopens its market to floor traders', null],
    // A hearing is a procedure: the verb after it sets the hearing, not the measure (nor the measure it
    // is on).
    ['Tariff hearings begin in Washington', 'neutral'],
    ['Trade dispute hearing set for May', 'neutral'],
    ['Trade hearing on Chinese tariffs set for June', 'neutral'],
    ['WTO hearing on U.S. steel tariffs opens in Geneva', 'neutral'],
  ] as [string, string | null][])
  it('a hearing set is no measure set', () => {
    const cues = score('Trade dispute hearing set for May').explanation.map((c) => c.cue)
    expect(cues).not.toContain('set + trade dispute')
  })
  it('the head is found past the goods of the phrase ("ban on chip exports")', () => {
    expect(tariff('Ban on chip exports lifted').label).toBe('positive')
    expect(tariff('Ban on rare earth exports lifted').label).toBe('positive')
    expect(score('Ban on chip exports lifted').explanation.map((c) => c.cue)).toContain('lifted + ban')
  })
  it('the verb after a noun phrase is said of its head, not of what the head is on or of', () => {
    expect(supply('Shortage of chips eases').label).toBe('positive')
    expect(supply('Shortage of semiconductors worsens').label).toBe('negative')
    expect(score('Shortage of chips eases').explanation.map((c) => c.cue)).toContain('eases + shortage')
  })
  it('a stock market reopening is no trade news', () => {
    expect(tariff('Stock market reopens after holiday').label).toBeNull()
  })
  it('weaponising rare earth exports is a supply threat', () => {
    expect(supply('China signals it may weaponise rare earth exports').label).toBe('negative')
  })
  it('the verb of intent hands its hedge to the act after the modal', () => {
    const cues = score('U.S. signals it may lift tariffs').explanation.map((c) => c.cue)
    expect(cues).toContain('lift + tariffs')
    expect(cues).not.toContain('signals + tariffs')
  })
})

describe('issue #3: round 39, probe 30 (grammar varied)', () => {
  tariffCases([
    // Collapsed, said after it.
    ['Trade truce in tatters as U.S. accuses China of violating Geneva deal', 'negative'],
    ['Trade deal in tatters', 'negative'],
    // (Refusals said after an offer to cut were tried and dropped: the cut offered is what is refused.)
    ['EU offer to cut car tariffs rejected by Washington', 'negative'],
  ] as [string, string][])
  it('a collapse of no trade is no trade news', () => {
    expect(tariff('Global economy in tatters').label).toBeNull()
  })
})

describe('issue #3: round 39, probe 31 (market news)', () => {
  tariffCases([
    // Not hesitating is doing.
    ['Mnuchin: U.S. will not hesitate to put tariffs on additional Chinese goods', 'negative'],
    ["U.S. won't hesitate to impose more tariffs, Ross says", 'negative'],
  ] as [string, string][])
  supplyCases([
    // A supply that stays short: "remain" alone had read it as more supply.
    ['Chip supply remains tight', 'negative'],
    ['Intel says chip supply for personal computers remains tight', 'negative'],
    ['Chip supply remains ample', 'positive'],
    // A carmaker's name lands nothing ("land + shipments").
    ['Jaguar Land Rover halts shipments to U.S. in response to Trump tariffs', 'negative'],
    // A courier strike is a stoppage.
    ['NHS blood deliveries could be hit by courier strike', 'negative'],
    // A supply condition after an input heads the phrase: the shortage eases, not the input's price.
    ['China eases rare earth shortage', 'positive'],
    ['China approves rare earth export licenses, easing auto industry magnet shortage', 'positive'],
  ] as [string, string | null][])
  it('"strike" strikes only what follows it: workers striking at a mine strike no deal there', () => {
    expect(supply('Copper jumps on supply fears as Chilean mine workers strike').label).not.toBe('positive')
    expect(tariff('U.S., China strike trade deal').label).toBe('positive')
  })
  it('a shortage named after staff cuts is no shortage cut', () => {
    expect(supply("Sainsbury's blames staff cuts and UK heatwave for stock shortages").label).toBe('negative')
  })
})

describe('issue #3: round 39, probe 32 (Guardian and finance tweets)', () => {
  tariffCases([
    // A start date starts nothing before it: "starting + imports" had read more imports.
    ['$SPY dumps as Trump tweets 10% tariffs on $300B more Chinese imports starting Sept 1', 'negative'],
    ['Tariffs to rise starting next month', 'negative'],
    // An end put to what follows, not to a noun before it ("end + orders").
    ["Trump orders end to Hong Kong's special trade status", 'negative'],
    ['U.S. and China agree to end to tariffs', 'positive'],
    ['Trump orders an end to tariff exemptions', 'negative'],
  ] as [string, string | null][])
  it('a plant idled from a date is idled', () => {
    expect(supply('BMW will idle South Carolina plant for two weeks starting April 3').label).toBe('negative')
  })
  it('"China starting to buy" still starts buying', () => {
    expect(tariff('China starting to buy U.S. soybeans').label).toBe('positive')
  })
})

describe('issue #3: round 40, probes 33 and 34 (trade outside the U.S.-China axis; direction against the words)', () => {
  tariffCases([
    // A country that halts, caps or resumes its exports sets an export control (tariff relevance was
    // the exports' half weight, under the line); a firm's halted exports stay its business.
    ['Vietnam halts rice exports to secure domestic supply', 'negative'],
    ['Indonesia halts nickel ore exports two months early', 'negative'],
    ['Russia to cap grain exports to protect domestic market', 'negative'],
    ['Vietnam resumes rice exports', 'positive'],
    ['Toyota halts exports to Iran', null],
    // (Review: only by a verb of control, and not with a cause of disruption named: exports a storm halts
    // or a country boosts are the market's.)
    ['Kazakhstan suspends oil exports via CPC after storm', null],
    ['Chile resumes copper exports after port strike', null],
    ['Russia boosts seaborne oil exports to record', null],
    // A list of trusted partners: taken off it is a control, put back on it relief.
    ['Japan removes South Korea from white list of trusted trade partners', 'negative'],
    ['Japan cabinet approves removing South Korea from trusted trade partner list', 'negative'],
    ['Japan to restore South Korea to export whitelist', 'positive'],
    ['China halts Australian barley imports', 'negative'],
    // Held back is held up.
    ['Dutch government holds back ASML machine shipment to China under U.S. pressure', 'negative'],
    // A measure that delays something is no measure delayed.
    ['Indian solar developers say safeguard duty is delaying projects', 'negative'],
    ['Tariff hike is delayed', 'positive'],
    ['Tariffs are hurting farmers', 'negative'],
    // A noun that is a verb as well, after a preposition, is the noun ("supplies + import tariffs" had
    // read more tariffs; "in U.S. ban" a ban on the row).
    ['Brazil cuts import tariffs on medical supplies to fight coronavirus', 'positive'],
    ['Beijing waives retaliatory tariffs on U.S. medical supplies amid outbreak', 'positive'],
    ['ZTE tells suppliers China trade row may be factor in U.S. ban: source', 'negative'],
    // ... but not past a measure or a contest of its phrase, nor after "to".
    ['Markets jump on trade war breakthrough hopes', 'positive'],
    ['Qualcomm wins deal to supply chips to Huawei', 'positive'],
  ] as [string, string | null][])
  supplyCases([
    // The worry after a supply target is what a verb eases or stokes ("easing + chip supply" had read
    // the supply cut).
    ['Japan lifts curbs on photoresist exports to South Korea, easing chip supply worries', 'positive'],
    ['Russia, Ukraine sign gas transit deal, easing European supply fears', 'positive'],
    ['Deal eases supply fears', 'positive'],
    // (Review: not a frame word that is the verb, with its object after it.)
    ['Cut in Russian gas supply worries German industry', 'negative'],
    // "Lift" raises a supply or an output after it; it takes away only a measure.
    ['Vale restarts Brucutu mine, lifting iron ore supply', 'positive'],
    ['Toyota lifts output at Kentucky plant', 'positive'],
    ['India lifts export ban on paracetamol ingredients', null],
    ['Safran CEO cautious on supply chain once Boeing grounding lifted', 'negative'],
    // What is struggled for is not done.
    ['Airbus struggles to raise jet output', 'negative'],
    // (Review: an -ing verb after an auxiliary keeps a shortage before it; the rule is a measure's.)
    ['Chip shortage is easing faster than expected', 'positive'],
    // Blast furnaces and potlines are plants (a bare furnace is as often a home's); a stoppage called off
    // ends, unless the field says the strikers stop no supply, or the strike is an attack.
    ['U.S. Steel restarts Granite City blast furnaces, crediting Trump tariffs', 'positive'],
    ['Lennox raises furnace prices', null],
    ['Century Aluminum to restart Kentucky potlines', 'positive'],
    ['Junior doctors call off strike', null],
    ["Hollywood writers' strike ends", null],
    ['Trump says he called off strike on Iran', null],
    ['Union calls off strike at BHP Escondida after pay deal', 'positive'],
    ['CN Rail workers end strike, trains rolling again', 'positive'],
    ['GM strike ends after 40 days', 'positive'],
    ['Trump strikes deal with Xi', null],
    // Probe 35: supplies of money, homes or bonds are no supply chain; a place's falls fall nothing;
    // shelves stocked shelve nothing; ground broken on a plant builds it.
    ['Money supply surges at record pace as Fed pumps liquidity into markets', null],
    ['U.S. housing supply falls to record low, pushing prices higher', null],
    ['Smithfield reopens Sioux Falls pork plant', 'positive'],
    ['Kimberly-Clark ramps up toilet paper output to restock shelves', 'positive'],
    ['Foxconn breaks ground on Wisconsin LCD plant', 'positive'],
    ['GM shelves plan for new plant', 'negative'],
  ] as [string, string | null][])
  it('a frame after a trade target still passes its move on ("eases trade war fears")', () => {
    expect(tariff('Deal eases trade war fears').label).toBe('positive')
    expect(tariff('Report dims trade deal hopes').label).toBe('negative')
    expect(tariff('Kudlow eases trade deal fears').label).toBe('positive')
  })
})

describe('issue #3: round 40, probes 36 and 37 (numbers; Asian and state media)', () => {
  tariffCases([
    // Talks that break up have broken down ("up + trade talks" had read a rise).
    ['Trade talks break up in Washington with no deal and no date for next round', 'negative'],
    // Approval made a condition of imports is a control, not a licence granted.
    ['India to require prior approval for imports of Chinese power equipment', 'negative'],
    ['Fed to require prior approval for big bank buybacks', null],
    // An export cap lifted; a tariff-cutting deal.
    ['Vietnam lifts rice export cap, resuming normal shipments from May 1', 'positive'],
    ['RCEP gives China and Japan their first bilateral tariff-cutting deal', 'positive'],
    ['Lumber tariff cutting into homebuilder margins', 'negative'],
    // What began after "since" is the time of the news.
    ['Japan approves first shipment of chip material to South Korea since curbs began', 'neutral'],
    ['Trade war began in 2018', 'negative'],
    // A measure that does something to an object is no measure done to ("shut + tariffs" had read relief);
    // a passive or a compound still takes it.
    ['Soybean futures sink to decade low as China tariffs shut out top buyer', 'negative'],
    ['Fed study finds tariffs cut U.S. manufacturing employment by 1.4%', 'negative'],
    ['Tariffs cut on 300 goods', 'positive'],
    ['Tariffs lifted Friday', 'positive'],
    // (Review: after a verb in the present the object starts as a noun phrase does.)
    ['Steel tariffs ease slightly under new U.S.-UK deal', 'positive'],
    ['Tariffs delay gives retailers breathing room for holidays', 'positive'],
    ['Tariffs halt U.S. soybean shipments to China', 'negative'],
    // The rest of a list of goods between the measure and its verb.
    [
      "China's Commerce Ministry says 25 pct tariffs on U.S. soybeans, cars to take effect July 6",
      'negative',
    ],
    ['Tariffs on Chinese laptops, phones delayed', 'positive'],
  ] as [string, string | null][])
})

describe('issue #3: round 40, probes 38 and 39 (sanctions; supply news)', () => {
  tariffCases([
    // Sanctions on people for wrongs of no trade, named as the reason.
    ['U.S. sanctions Myanmar military chief over Rohingya abuses', null],
    ['U.S. imposes sanctions on Iranian officials over crackdown on protesters', null],
    ['EU imposes first cyber sanctions on Russian, Chinese hackers', null],
    ['U.S. imposes sanctions on Venezuelan oil company PDVSA', 'negative'],
    // ... but a trade story that names rights or visas stays one.
    ['EU, China stumble over trade, human rights ahead of summit', 'neutral'],
    // Selling to a listed firm, as a verb.
    ['Qualcomm stops selling to Huawei', 'negative'],
  ] as [string, string | null][])
  supplyCases([
    // A verb after "forces X to" acts on no cause before "forces".
    ['Capacitor shortage forces electronics makers to delay product launches', 'negative'],
    ['Emissions test backlog forces Volkswagen to idle Wolfsburg lines', 'negative'],
    ['Shortage of chips forces automakers to halt production', 'negative'],
  ] as [string, string | null][])
})

describe('issue #3: round 41, probes 40-44 (lists of goods, force majeure, price plans, no-deal Brexit)', () => {
  tariffCases([
    // A list of goods after "<measure> on" stands between the measure and its verb, on either side.
    ['Curbs on gallium, germanium to start August 1', 'negative'],
    ["China's curbs on gallium, germanium hit chipmakers", 'negative'],
    ['Export curbs on rice, sugar eased', 'positive'],
    ['Trump lifts tariffs on steel, aluminum, stocks rally', 'positive'],
    // (A comma that lists no goods still parts a move from what went before.)
    ['Trump Says Pharma Tariffs Coming Soon, Drugmakers Fall', 'negative'],
    // Price plans of energy suppliers, workers' unions and sanctions over trafficking are no trade.
    ['Ofgem orders suppliers to refund customers on prepayment tariffs', null],
    ['Tariff on electricity bills rises in UK as energy price cap lifted', null],
    ["Trade union calls strike at Amazon's German warehouses", null],
    // (Review: a country's standard or default tariff is its import duty; measures over abuses or
    // trafficking stay trade measures.)
    ['Brazil raises standard tariff on imported cars to 35%', 'negative'],
    ['UK exporters face default tariff on cars if talks fail', 'negative'],
    ['U.S. adds 11 Chinese firms to entity list over Xinjiang abuses', 'negative'],
    ['Trump to impose tariffs on Mexico over drug trafficking, migrants', 'negative'],
    // Longer lists, and a flow named before the measure.
    ['Curbs on gallium, germanium, graphite to start August 1', 'negative'],
    ['India eases rice, sugar export curbs', 'positive'],
    // Britain leaving the EU with no trade deal is trade news; averted, relief.
    ['Sky warns Disney and Discovery of no-deal Brexit blackout', 'negative'],
    ['Britain will avoid no-deal Brexit', 'positive'],
  ] as [string, string | null][])
  supplyCases([
    // Force majeure declared is a supply stopped; lifted, deliveries resume.
    ['Dow declares force majeure on polyethylene after Texas freeze', 'negative'],
    ['Chemours lifts force majeure on titanium dioxide -company', 'positive'],
    ['Glencore chrome venture declares force majeure', 'negative'],
    // A strike begun is a stoppage; strikers who stop no supply (pilots, teachers) are no supply news;
    // a crisis of supply is the condition a verb eases (probe 42).
    ["Workers at Chile's Escondida copper mine begin strike after wage talks fail", 'negative'],
    ['Flights grounded as Brussels Airlines pilots begin strike', null],
    ['Teachers go on strike', null],
    ["Royal Mail union to launch strike ballot over workers' rights", null],
    ['UK fuel supply crisis easing as army drivers begin deliveries', 'positive'],
    ["Students protest as truckers' strike paralyses Brazil's ports", 'negative'],
    ['Truckers strike ends, students return to school', 'positive'],
    ['KFC struggles to give chicken away as store supply crisis continues', 'negative'],
    // (Review: force majeure as a point of law is no supply stopped.)
    ['Court rejects force majeure claim in LNG contract dispute', null],
    ['Force majeure clauses: what companies need to know about coronavirus', null],
  ] as [string, string | null][])
})

describe('issue #3: round 41, probe 43 (who says what about a measure)', () => {
  tariffCases([
    // A relief blocked, stopped or cancelled, named as a noun after "of", is not done.
    ['U.S. Senate votes to block lifting of ZTE sanctions', 'negative'],
    ['Court blocks removal of steel tariffs', 'negative'],
    ['China halts purchases of U.S. soybeans', 'negative'],
    // A predicate in a noun's form after a preposition takes nothing before it.
    ['India says it has no plans to retaliate against U.S. GSP withdrawal', 'positive'],
    ['India retaliates against U.S. GSP withdrawal', 'negative'],
    // What follows "if" is the condition, not the object.
    ['Kudlow says tariffs on Chinese goods could be dropped if talks go well', 'positive'],
    ['China to retaliate if U.S. imposes tariffs', 'negative'],
    // A measure not accepted is defied; a deal not ready is a setback; "not ready to" negates.
    ["China says it will 'never accept' unilateral tariffs", 'negative'],
    ['China refuses to accept U.S. tariffs', 'negative'],
    ["Trump says China deal 'not ready' and Beijing must 'pay up'", 'negative'],
    ['KUDLOW SAYS TRUMP IS NOT READY TO SIGN ANY TRADE DEAL WITH CHINA', 'negative'],
    // A noun that is also a verb, right before a modal, is the noun ("U.S. curbs will hit": the curbs
    // hit; "curbs + production" had read them as the verb).
    ['Huawei says U.S. curbs will hit its smartphone production', 'negative'],
    ['Tighter U.S. sanctions on Iranian oil will cost Asia but supply will flow', 'negative'],
    // Orders of a partner's farm goods are what a deal's purchases are, where the headline is about trade
    // (review: alone they are trade data).
    ['China resumes U.S. soybean orders as trade truce holds', 'positive'],
    ['Mexico boosts U.S. corn orders', null],
    // A threat named after what it threatens passes the move on, as a frame does (the bare contest no
    // longer weighs against the easing).
    ['Stocks rise as trade war threat fades', 'positive'],
    ['Equity Isas: is it time to invest as no-deal Brexit threat fades?', 'positive'],
    ['Trade war threat grows', 'negative'],
  ] as [string, string | null][])
  supplyCases([['Factory not ready to restart', 'negative']] as [string, string | null][])
})

describe('issue #3: round 41, probes 45 and 46 (2021-2025 trade news; two events in one headline)', () => {
  tariffCases([
    // An act in -ing right after a noun of business takes the trade target after it.
    ['Trump signs order easing auto tariffs', 'positive'],
    // Measures kept in place in a clause after a relief are the status quo beside the news.
    ['U.S. exempts 110 Chinese products from tariffs, keeps duties on rest', 'positive'],
    ['China exempts 16 U.S. products from tariffs, keeps most levies in place', 'positive'],
    ['Trump keeps tariffs in place', 'negative'],
    // (Review: a noun's form after "for" is what is planned for the subject; "not accept" keeps its "not"
    // for an offer of relief after it; strikes named by whose they are stay supply news.)
    ['Steel tariffs slated for removal', 'positive'],
    ['Tariffs on Chinese goods set for suspension', 'positive'],
    ['U.S. will not accept Chinese offer to cut tariffs', 'negative'],
    // A licence made a condition of sales is a control; taken off a blacklist, relief; a tariff offset,
    // relief.
    ['Nvidia says U.S. now requires licence for H20 sales to China, flags $5.5 billion charge', 'negative'],
    ['U.S. takes several Chinese entities off export blacklist', 'positive'],
    ['U.S. extends auto parts tariff offset for domestic assembly through 2030', 'positive'],
  ] as [string, string | null][])
})

describe('issue #3: round 42, probe 47 (trade news of 2025-2026)', () => {
  tariffCases([
    // A figure's change belongs to the rate, never to a trade pact named beside it.
    ['U.S. hikes tariff on Canadian goods outside USMCA to 35% from 25%', 'negative'],
    ['Mexico raises duties on Chinese cars outside its trade pact to 50% from 20%', 'negative'],
    // Courts: powers overstepped or exceeded, duties refunded.
    ['Supreme Court rules Trump overstepped powers with IEEPA tariffs', 'positive'],
    ['Judge says president exceeded his powers in imposing tariffs', 'positive'],
    ['Trade court orders refunds of IEEPA duties with interest', 'positive'],
    // Goods exempted from a measure: the measure is undone, whatever names the goods.
    ['Smartphones, computers and chips exempted from reciprocal tariffs', 'positive'],
    ['Chips exempted from new tariffs', 'positive'],
    // Inputs joined by "and" before the measure that covers them.
    ['Beijing suspends gallium and germanium export ban to U.S.', 'positive'],
    ['China bans gallium and germanium exports to U.S.', 'negative'],
    // Ships named by where they were built: no verb there.
    ['U.S. pauses port fees on Chinese-built ships for one year', 'positive'],
    ['U.S. to impose port fees on Chinese-built vessels', 'negative'],
    // An accord on a measure not reached is a setback of the talks; other words of progress keep their
    // reading.
    ['EU-U.S. steel talks stall as sides fail to agree on quota volumes', 'negative'],
    ['U.S. and Mexico fail to reach agreement on tomato duties', 'negative'],
    ['France, Germany and Britain praise Trump rethink on Europe tariffs', 'positive'],
    // Goods "tariffed".
    ["Gold falls as Trump says bullion won't be tariffed", 'positive'],
    ['Copper cathodes to be tariffed at 50%', 'negative'],
    // A rate won in talks is lower than the one threatened; tariffs won by an industry are protection.
    ['Japan secures 15% tariff rate in deal with U.S.', 'positive'],
    ['EU wins 15% tariff rate on most goods', 'positive'],
    ['Drugmakers win three-year tariff grace in pricing deals', 'positive'],
    ['Steelmakers win 25% tariffs on imports', 'negative'],
    ['U.S. raises tariff rate on Indian goods to 50%', 'negative'],
    // A word that only starts longer phrases of the lexicon is a plain word of the noun phrase.
    ['Trump pauses higher reciprocal tariffs for 90 days', 'positive'],
    // Figures inside a phrase of the lexicon are read as written: the statutes' investigations by section,
    // the phase one deal.
    ['Commerce opens Section 232 probe into semiconductor imports', 'negative'],
    ['U.S. launches Section 301 investigation into Brazil', 'negative'],
    ['Phase 1 deal signed', 'positive'],
  ] as [string, string | null][])
  supplyCases([
    ['Beijing suspends gallium and germanium export ban to U.S.', 'positive'],
    ['China bans gallium and germanium exports to U.S.', 'negative'],
  ] as [string, string | null][])
})

describe('issue #3: round 42, supply: shortages over, limits lifted, threats to a supply, lists, licences held', () => {
  supplyCases([
    // A shortage declared over, or over at the end of its clause, has eased; "over" with more after it
    // names the shortage's cause.
    ['Regulator declares insulin shortage over', 'positive'],
    ['Toyota says the chip shortage is now over', 'positive'],
    ['Egg shortages over as hens recover, grocers say', 'positive'],
    ['German carmakers see parts shortage over virus', 'negative'],
    ['Regulator declares insulin shortage', 'negative'],
    ['Regulator adds insulin to drug shortage list', 'negative'],
    // Capacity loosening eases shippers; tightening strains them.
    ['Trucking capacity loosens as spot rates fall', 'positive'],
    ['Trucking capacity tightens as spot rates climb', 'negative'],
    // A limit on what passes a canal: lifted, raised or eased, more passes; cut, less.
    ['Panama Canal raises draft limit as water levels recover', 'positive'],
    ['Suez authority eases transit restrictions on large tankers', 'positive'],
    ['Panama Canal cuts draft limit amid drought', 'negative'],
    ['Panama Canal restricts transits as drought worsens', 'negative'],
    // A supply threatened, named as the noun before "of", is a disruption, not a verb of supplying.
    ['Flood at Thai plant threatens supply of hard-drive parts', 'negative'],
    ['Drought threatens supply of arabica beans', 'negative'],
    // Goods put on an export control list are curbed; taken off it, freed.
    ['Beijing adds graphite anode technology to its export control list', 'negative'],
    ['China removes gallium from export control list', 'positive'],
    // Licences kept tight are a control held, not licences granted.
    ['Exporters wait as China keeps rare earth licences tight', 'negative'],
  ] as [string, string | null][])
  tariffCases([
    ['Beijing adds graphite anode technology to its export control list', 'negative'],
    ['China removes gallium from export control list', 'positive'],
    ['U.S. adds nine Chinese firms to entity list', 'negative'],
    ['USTR removes smart watches from tariff list', 'positive'],
  ] as [string, string | null][])
})

describe('issue #3: round 42, supply: ports and transport stopped or moving again', () => {
  supplyCases([
    // A port is a place of work: shut, struck or paralysed, the flow stops; reopened, it resumes.
    ['Typhoon shuts ports in southern China', 'negative'],
    ['Port of Halifax shut down as lockout drags on', 'negative'],
    ['Longshoremen walk out at Gulf Coast ports over automation', 'negative'],
    ["Tug crews' strike paralyses Rotterdam port", 'negative'],
    ['Protesters keep Chilean port closed for a third day', 'negative'],
    ['Vancouver port reopens after workers return', 'positive'],
    ['Houston ship channel fully reopened after fog', 'positive'],
    ['Freight trains rolling again in Canada after arbitration order', 'positive'],
    ['Container ships transit the Red Sea again after ceasefire', 'positive'],
    ['Fewer ships transit Suez Canal as attacks continue', 'negative'],
    ['Union and port employers agree contract, ending Gulf Coast strike', 'positive'],
    // A port named by a plan, a warning, a probe or a win, or as a city or a free-trade zone, is no port
    // moved; a port before a verb of more is where its subject acts.
    ['Telecoms firm eyes Asian ports for 5G contracts', null],
    ['Yacht seized in fraud probe arrives at Malaysian port', null],
    ['Oil spill devastates Borneo port city', null],
    ["Chancellor's free ports plan gets go-ahead", null],
    ['Record lorry traffic at Dover port raises fears of Brexit delays', 'negative'],
    // (A port's own figures are logistics news with no direction.)
    ['Port of Los Angeles cargo volumes rise in May', 'neutral'],
    // Strikers who stop no supply still stop none.
    ['Junior doctors end two-week national strike', null],
  ] as [string, string | null][])
  tariffCases([
    // A wage or labour deal is no trade deal.
    ['Dockworkers and port employers reach tentative wage deal, ending strike', null],
    ['Carmaker and union make progress toward new labor deal', null],
    ['U.S. and Japan reach trade agreement', 'positive'],
  ] as [string, string | null][])
})

describe('issue #3: round 42, supply: capacity delayed or added', () => {
  supplyCases([
    // Pushed to a later year is delayed.
    ['TSMC pushes second Arizona fab to 2028, citing costs', 'negative'],
    ['Chipmaker pushed its Ohio plant to 2031 amid weak demand', 'negative'],
    ['Samsung delays start of production at Texas chip plant', 'negative'],
    ['Automaker delays production start at new battery plant', 'negative'],
    ['Production starts at new battery plant in Georgia', 'positive'],
    // New capacity: a megafab broken ground on, chipmaking expanded.
    ['Chipmaker breaks ground on Arizona megafab', 'positive'],
    ['Texas Instruments to spend $60 billion to expand U.S. chipmaking', 'positive'],
    // Chipmaking as a modifier moves nothing.
    ['Korean chipmakers lose waivers to ship U.S. chipmaking tools to their Chinese fabs', 'negative'],
  ] as [string, string | null][])
  tariffCases([
    // (Not a figure: "pushes tariffs to 25%" raises them.)
    ['Trump pushes tariffs to 25%', 'negative'],
  ] as [string, string | null][])
})

describe('issue #3: round 42, supply: shortages of people, homes or shares', () => {
  supplyCases([
    ['Tech talent shortage worsens as startups poach engineers', null],
    ['Nursing shortage forces hospitals to shut wards', null],
    ['Housing shortage pushes rents to record in Toronto', null],
    ['Airlines cancel flights over pilot shortage', null],
    ['Skills shortages harming UK business, employers warn', null],
    ['Insiders add to supply of stock through planned sales', null],
    // Shortages of goods, and of drivers who haul them, are still supply news.
    ['Drug shortage forces hospitals to ration care', 'negative'],
    ['Truck driver shortage worsens', 'negative'],
    ['Chip shortage deepens as automakers cut output', 'negative'],
    ['Supply of chips improves', 'positive'],
  ] as [string, string | null][])
})

describe('issue #3: round 43, probe 49 (trade acts of partners other than the U.S.) and the review of 2.0.101', () => {
  tariffCases([
    // Measures named as partners name them: tariff-rate quotas (cut: less let in), import and export
    // suspensions, India's quality-control orders, the EU's carbon border levy, China's unreliable-entity
    // measures, permits made a condition of exports, tariff remission.
    ['Canada cuts steel tariff-rate quotas to 50% of 2024 levels', 'negative'],
    ['Manila lifts rice import suspension after four months', 'positive'],
    ['Congo lifts cobalt export suspension', 'positive'],
    ['India withdraws quality-control orders on polyester', 'positive'],
    ['India extends quality-control orders to 12 more chemicals', 'negative'],
    ['EU exempts most importers from CBAM', 'positive'],
    ['Beijing suspends unreliable-entity measures against 15 American firms', 'positive'],
    ['Malaysia requires trade permits for exports of U.S.-made AI chips', 'negative'],
    ['Ottawa grants tariff remission for steel imports', 'positive'],
    ['Brazil zeroes import tariffs on coffee and beef', 'positive'],
    // The end of a year is a date, joined to it or ending the clause; "to end" a measure of a year ends it.
    ['Russia extends ban on Western food imports to end-2026', 'negative'],
    ['U.S. to end 2019 tariff exclusions', 'negative'],
    // What is withheld is not given.
    ['China withholds licences for rare earth exports', 'negative'],
    // A cut named as a noun is won in the deal after "in", which it does not cut; a verb after the noun of
    // progress still acts on the talks.
    ['Swiss win reduction to 15% in trade deal', 'positive'],
    ['Progress stalls in trade talks', 'neutral'],
    // Surtaxes refunded; ships and tankers named by where they were built; a drug's trial phases.
    ['Canada to refund surtaxes on U.S. goods used in manufacturing', 'positive'],
    ['Phase 1 trial results lift biotech shares', null],
    // A dispute near its end.
    ['Trade dispute close to a solution', 'positive'],
    // Inputs listed with commas and "and" before the measure that covers them (the other critical minerals
    // are inputs too).
    ['China suspends gallium, germanium and antimony export ban to U.S.', 'positive'],
    ['China adds tungsten and tellurium to export control list', 'negative'],
  ] as [string, string | null][])
  supplyCases([
    // A squeeze of an input is a shortage.
    ['China to issue general licences for rare earths, easing magnet squeeze', 'positive'],
    ['Magnet squeeze forces Ford to idle plant', 'negative'],
    ['China withholds licences for rare earth exports', 'negative'],
    // A ship is no act on a port.
    ['Cruise ship docks at port after norovirus outbreak', null],
    ['Montreal port reopens as workers return', 'positive'],
    ['U.S. requires share of LNG exports to move on U.S.-built tankers', null],
  ] as [string, string | null][])
})

describe('issue #3: round 44, probes 50 and 51 (markets and companies meet trade; physical supply)', () => {
  tariffCases([
    // A figure right before a word that is both noun and verb makes it the noun.
    ['Canadian dollar weakens after Trump threatens 35% levy on Canadian imports', 'negative'],
    ['China to levy 25% duty on U.S. pork', 'negative'],
    // A capitalised name after a measure's verb is its object ("curbs sink Nvidia": the curbs do it).
    ['Chip export curbs sink Nvidia', 'negative'],
    // The contest named by its measure; what is done in it is not done to it.
    ['Wheat futures slip after Beijing cancels U.S. cargoes in tariff dispute', 'negative'],
    ['U.S. and Canada settle tariff dispute', 'positive'],
    // A cut won is relief; buyers' caution is no measure withdrawn.
    ['EU clinches car tariff cut with U.S.', 'positive'],
    // Review of 2.0.104: an act of policy written with its capital after a name; a truce in a contest named
    // with names between; tariff-rate quotas named are trade policy; settlement and resolution near without
    // an article; remission of duties.
    ['Exclusive: China Restricts exports of rare earth magnets', 'negative'],
    ['EU, U.S. agree five-year truce in Airbus-Boeing tariff row', 'positive'],
    ['Explainer: How tariff-rate quotas work', 'neutral'],
    ['EU and U.S. close to settlement on steel and aluminium tariffs', 'positive'],
    ['U.S., China near resolution of trade dispute', 'positive'],
    ['EU extends remission of duties on Ukrainian imports', 'positive'],
    ['Ottawa ends remission of surtaxes on U.S. steel', 'negative'],
    ['Target misses sales estimates as shoppers pull back on tariff worries', 'negative'],
  ] as [string, string | null][])
  supplyCases([
    ['Adderall shortage over for most doses, FDA says', 'positive'],
    // Supplies, shortages and backlogs of money, securities, cases and deals are no goods; a shop's stock
    // is goods.
    ['Shortage of buyers leaves Treasury auction tail at record', null],
    ["Chinese banks' new loan supply tops forecasts in March", null],
    ['Bitcoin supply on exchanges falls to five-year low', null],
    ['Bankruptcy court backlog hits record as filings surge', null],
    ["Sainsbury's blames staff cuts and UK heatwave for stock shortages", 'negative'],
    ['Chip supply shortage worsens', 'negative'],
    // A word of a market move written with its capital after a capitalised word, outside Title Case, is
    // part of a name; an act of policy so written is still the act (review of 2.0.104).
    ["Tornado tears roof off Pfizer's Rocky Mount plant", null],
    ['Mazda Halts output at Hiroshima plant after system outage', 'negative'],
    // A port is no act's when one goes to it; a dollar shortage may stop goods.
    ['Cruise ships return to Vancouver port after two-year hiatus', null],
    ['Dollar shortage leaves goods stuck at Egyptian ports', 'negative'],
    // Plants knocked offline, goods rationed, workers locked out.
    ['Hurricane knocks Baxter plant offline', 'negative'],
    ['Refinery back online after fire', 'positive'],
    ['Hospitals ration IV fluids', 'negative'],
    ['Hospitals no longer rationing cisplatin, oncology survey finds', 'positive'],
    ["Canada's two biggest railways lock out workers", 'negative'],
    ['Huawei locked out of 5G auctions', null],
  ] as [string, string | null][])
})

describe('issue #3: round 45, probe 52 (what officials say about a measure)', () => {
  tariffCases([
    // A negation before a good passes to the noun the good names.
    ['Lutnick denies report of chip tariff delay', 'negative'],
    ['China says no rare earth export ban', 'positive'],
    ["U.S. won't lift chip export curbs", 'negative'],
    // A verb-and-noun after "to" with its object right after it is the purpose clause's verb.
    ['Senator introduces bill to ban imports of Chinese-made drones', 'negative'],
    // Barriers to imports; bullion cast in bars.
    ['Li Qiang says China will keep opening market, cut import barriers', 'positive'],
    ['Lutnick: no tariffs on gold bars, White House to clarify', 'positive'],
  ] as [string, string | null][])
})

describe('issue #3: round 46, draw 34 (a verb after a modal; a deal cut)', () => {
  tariffCases([
    // A verb after a modal, its subject between it and an earlier verb, takes what follows it; the earlier
    // verb ("signal", with a noun of its own) does not reach past it.
    ["Airbus says ministers signal optimism Britain will avoid 'no-deal Brexit'", 'positive'],
    ['EU signals confidence it will avert U.S. car tariffs', 'positive'],
    ['Officials signal Britain will avoid new tariffs', 'positive'],
    ['Trump threatens China will face new tariffs', 'negative'],
    // A deal cut is one struck; a cut between what is cut and a deal is a noun (OPEC's deal on output).
    ['Mexico cuts a deal with U.S. to avert tariffs', 'positive'],
    ['Trump cuts trade deal with Japan', 'positive'],
    ['Canada cuts tariffs on U.S. steel', 'positive'],
    ['Kremlin: Putin and Trump discuss OPEC+ oil cuts deal', null],
    ['Iraqi oil minister says big oil cut deal will help to stabilize oil market', null],
  ] as [string, string | null][])
})

describe('issue #3: round 46, hopes with a clause (a relief hoped for is no relief)', () => {
  tariffCases([
    ['Mexico president repeats he hopes Canada will return to NAFTA talks', 'neutral'],
    ['China says it hopes U.S. will work on basis of equality in trade talks', 'neutral'],
    ['Japan hopes U.S. will exempt its cars from tariffs', 'neutral'],
    ['Trudeau hopes tariffs will be lifted', 'neutral'],
    ['Mexico hopes that U.S. will lift steel tariffs', 'neutral'],
    // The noun is the market's hope, and the relief done is done.
    ['Stocks rise on trade hopes', 'positive'],
    ['Mexico says U.S. will lift steel tariffs', 'positive'],
  ] as [string, string | null][])
})

describe('issue #3: round 47, probe 53 (reactions and rhetoric)', () => {
  tariffCases([
    // Defiance of pressure, in other words than "bullied": the "not" denies the pressure, not the measure.
    ['China will not be intimidated by U.S. tariffs', 'negative'],
    ['Canada "will not be pushed around" on tariffs, Trudeau says', 'negative'],
    ['Mexico will not be cowed by tariff threats', 'negative'],
    // Britain's talks with the EU are trade talks; "Brexit deal" is left alone (Westminster's votes on it).
    ['Brexit talks stall over Irish border backstop', 'negative'],
    ['Sterling heads for worst week of the year as Brexit talks collapse', 'negative'],
    ['Unions join business leaders to demand urgency in Brexit talks', 'neutral'],
    ["Theresa May's Brexit deal could cost UK £100bn over a decade", null],
  ] as [string, string | null][])
})

describe('issue #3: round 47, a participle describing the object another verb took', () => {
  tariffCases([
    ['U.S. reneges on deal reached in talks', 'negative'],
    ['Trump scraps deal struck last year', 'negative'],
    ['EU lifts tariffs imposed last year', 'positive'],
    // Alone, the participle's act is the news.
    ['Consensus reached in talks will be implemented, China says', 'positive'],
  ] as [string, string | null][])
})

describe('issue #3: round 48, partners apart on trade, and differences set aside', () => {
  tariffCases([
    // Differences, divisions and disagreement over trade are friction, as tensions are.
    ['Merkel says differences on trade remain despite joint G7 communique', 'negative'],
    ['U.S. and China have significant differences ahead of trade talks', 'negative'],
    ['U.S., Chinese trade deputies face off in Washington amid deep differences', 'negative'],
    ['U.S., China more divided than ever as new trade talks loom', 'negative'],
    ['EU disagrees with U.S. over tariffs on steel', 'negative'],
    // Differences resolved, narrowed or set aside ease the matter; a bare "set" sets tariffs, and
    // "sets aside" money reserves it.
    ['China willing to hold talks with U.S. to resolve trade differences', 'positive'],
    ['China, U.S. to set aside differences at G20 summit', 'positive'],
    ['U.S., China narrow differences on trade deal text', 'positive'],
    ['Bank sets aside $900 million to cover fines', null],
    // Without trade words they are no trade news.
    ['Germans divided over plans for new car factory', null],
    ['Board members have differences over CEO pay', null],
  ] as [string, string | null][])
})

describe('issue #3: round 48, the agent after a participle', () => {
  tariffCases([
    // After a participle, "by" names who or what did the act, never what it was done to.
    ['UK food exports to EU may be stalled by no-deal Brexit', 'negative'],
    ['Growth curbed by tariffs', 'negative'],
    ['Soybean shipments delayed by new tariffs', 'negative'],
    // A verb of harm keeps the measure that hurts.
    ['Farmers hit by tariffs', 'negative'],
    // The act is still done to what stands before it.
    ['Tariffs on steel lifted by Trump', 'positive'],
    ['Tariffs cut by half', 'positive'],
  ] as [string, string | null][])
})
