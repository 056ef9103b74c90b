import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';

export interface FilterResult {
  /** The listed words found (their dictionary form, e.g. `fuck` for `fuuuck`), deduplicated. */
  words: string[];
}

/**
 * The local profanity filter behind moderationLevel `basic` (and the floor of `strict`): the
 * `obscenity` library's English dataset with its recommended transformers, which see through
 * repeated letters, leetspeak and look-alike Unicode while keeping false positives such as
 * "Scunthorpe" or "assassin" out by whole-word rules and whitelists.
 */
export class ContentFilter {
  private readonly matcher = new RegExpMatcher({
    ...englishDataset.build(),
    ...englishRecommendedTransformers,
  });

  check(text: string): FilterResult {
    if (!this.matcher.hasMatch(text)) return { words: [] };
    const words = new Set<string>();
    for (const match of this.matcher.getAllMatches(text)) {
      const { phraseMetadata } = englishDataset.getPayloadWithPhraseMetadata(match);
      if (phraseMetadata?.originalWord) words.add(phraseMetadata.originalWord);
    }
    return { words: [...words] };
  }
}
