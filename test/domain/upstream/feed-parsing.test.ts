import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../../../lambda/domain/errors';
import { type FeedParseOptions, decodeXml, parseFeed } from '../../../lambda/domain/upstream/feed-parsing';
import { findTextDates, parseRfc3339, parseRfc822 } from '../../../lambda/domain/upstream/feed-dates';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'feeds');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

function options(kind: FeedParseOptions['kind'], extra: Partial<FeedParseOptions> = {}): FeedParseOptions {
  return { kind, upstream: 'vendor', feedName: `https://status.vendor.example/${kind}`, ...extra };
}

function atom(entries: string): string {
  return `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>${entries}</feed>`;
}

function atomEntry(title: string, content: string, published = '2026-10-01T00:00:00Z'): string {
  return `<entry><id>${title}</id><title>${title}</title><published>${published}</published><content type="text">${content}</content></entry>`;
}

describe('Statuspage scheduled maintenances', () => {
  const result = parseFeed(fixture('statuspage-scheduled.json'), options('statuspage-json'));

  it('turns a certificate maintenance into an announcement whose cutover is the maintenance start, in UTC', () => {
    // Assess
    const [mtls] = result.announcements;
    expect(mtls).toMatchObject({
      source: 'statuspage-json',
      upstream: 'vendor',
      title: 'Rotation of the mTLS client certificate CA',
      cutover: '2026-12-01T14:00:00.000Z',
      windowEnd: '2026-12-01T16:00:00.000Z',
      publishedAt: '2026-10-15T08:30:00.000Z',
      affectedResources: ['Payments API'],
      needsReview: false,
      reviewReasons: [],
      link: 'https://stspg.io/acme-mtls-ca',
    });
    expect(mtls?.rawText).toContain('Acme Client CA G2');
    expect(mtls?.keywords).toEqual(expect.arrayContaining(['CA', 'mTLS', 'client certificate']));
  });

  it('skips maintenance that is not about certificates', () => {
    // Assess
    expect(result.skipped).toBe(1);
    expect(result.announcements.map((a) => a.title)).not.toContain(
      'Database maintenance for the reporting cluster',
    );
  });

  it('flags a window that ends before it starts, keeping the start as the cutover', () => {
    // Assess
    const renewal = result.announcements.find((a) => a.title.startsWith('TLS certificate renewal'));
    expect(renewal).toMatchObject({ needsReview: true, cutover: '2026-11-20T01:00:00.000Z' });
    expect(renewal?.reviewReasons.join()).toMatch(/window end .* is before its start/);
  });

  it('flags a maintenance without a date rather than inventing one', () => {
    // Assess
    const intermediate = result.announcements.find((a) => a.title === 'Intermediate CA change');
    expect(intermediate?.needsReview).toBe(true);
    expect(intermediate?.cutover).toBeUndefined();
    expect(intermediate?.reviewReasons).toEqual(['scheduled_for is missing', 'no date found in the text']);
  });

  it('keeps only maintenances of the configured components', () => {
    // Act
    const onlyReporting = parseFeed(
      fixture('statuspage-scheduled.json'),
      options('statuspage-json', { components: ['reporting'] }),
    );

    // Assess: the component-less item is kept (it cannot be ruled out), Payments API items are not
    expect(onlyReporting.announcements.map((a) => a.title)).toEqual(['Intermediate CA change']);
  });

  it('gives each item a source id stable across polls', () => {
    // Act
    const again = parseFeed(fixture('statuspage-scheduled.json'), options('statuspage-json'));

    // Assess
    expect(again.announcements.map((a) => a.sourceId)).toEqual(result.announcements.map((a) => a.sourceId));
    expect(result.announcements[0]?.sourceId).toBe(
      'https://status.vendor.example/statuspage-json#w1zdr745wmfy',
    );
  });
});

describe('Atom status feed', () => {
  const result = parseFeed(fixture('atom-status.xml'), options('atom'));

  it('reads the cutover written in the HTML body and the publication time with its offset', () => {
    // Assess
    const [rotation] = result.announcements;
    expect(rotation).toMatchObject({
      title: 'Scheduled: TLS intermediate certificate rotation',
      cutover: '2026-12-01T14:00:00.000Z',
      publishedAt: '2026-10-20T07:00:00.000Z',
      windowStart: '2026-10-20T07:00:00.000Z',
      link: 'https://status.vendor.example/incidents/abc123',
      needsReview: false,
    });
    expect(rotation?.rawText).toContain('&quot;Vendor TLS ICA 2026&quot;');
  });

  it('does not mistake a root cause for a root CA', () => {
    // Assess
    expect(result.announcements.map((a) => a.title)).not.toContain('Elevated error rates on webhooks');
    expect(result.skipped).toBe(1);
  });

  it('flags a time without a time zone and keeps its earliest reading (UTC+14)', () => {
    // Assess
    const root = result.announcements.find((a) => a.title === 'Root CA change for the EU region');
    expect(root).toMatchObject({ needsReview: true, cutover: '2026-11-15T00:00:00.000Z' });
    expect(root?.reviewReasons.join()).toContain('time without a time zone');
  });
});

describe('RSS status feed', () => {
  const result = parseFeed(fixture('rss-status.xml'), options('rss'));

  it('reads an overlap start and a cutover from the words around two dates', () => {
    // Assess
    const [ca] = result.announcements;
    expect(ca).toMatchObject({
      title: 'Client certificate CA rotation',
      windowStart: '2026-11-01T00:00:00.000Z',
      cutover: '2026-12-01T14:00:00.000Z',
      publishedAt: '2026-10-20T11:00:00.000Z',
      needsReview: false,
    });
  });

  it('flags an ambiguous time zone abbreviation and takes its earliest reading', () => {
    // Assess: CST is US Central (-6) or China (+8); the China reading is earlier
    const renewal = result.announcements.find((a) => a.title === 'Scheduled SSL certificate renewal');
    expect(renewal).toMatchObject({ needsReview: true, cutover: '2026-11-15T01:00:00.000Z' });
    expect(renewal?.reviewReasons.join()).toMatch(/CST is ambiguous/);
  });

  it('skips items that are not certificate related', () => {
    // Assess
    expect(result.skipped).toBe(1);
    expect(result.announcements).toHaveLength(2);
  });
});

describe('ambiguous announcements are flagged, never guessed', () => {
  it.each([
    ['no date at all', 'We will rotate our TLS certificate soon.', /no date found/],
    ['a date without a time', 'We rotate our TLS certificate on 2026-12-01.', /date without a time/],
    [
      'several dates without a clear role',
      'TLS certificate rotation: 2026-12-01 14:00 UTC or 2026-12-08 14:00 UTC depending on region.',
      /several candidate dates/,
    ],
    [
      'a window ending before it starts',
      'TLS overlap starts 2026-12-08 14:00 UTC. The old certificate is retired 2026-12-01 14:00 UTC.',
      /window end .* is before its start/,
    ],
  ])('%s', (_name, text, reason) => {
    // Act
    const [draft] = parseFeed(atom(atomEntry('tls', text)), options('atom')).announcements;

    // Assess
    expect(draft?.needsReview).toBe(true);
    expect(draft?.reviewReasons.join(' | ')).toMatch(reason);
  });

  it('uses the earliest of several candidate dates until a human confirms', () => {
    // Act
    const [draft] = parseFeed(
      atom(atomEntry('tls', 'TLS certificate rotation: 2026-12-08 14:00 UTC or 2026-12-01 09:00 UTC.')),
      options('atom'),
    ).announcements;

    // Assess
    expect(draft?.cutover).toBe('2026-12-01T09:00:00.000Z');
  });

  it('flags an unreadable publication date', () => {
    // Act
    const [draft] = parseFeed(
      atom(atomEntry('tls', 'TLS certificate rotation on 2026-12-01 at 14:00 UTC', 'yesterday')),
      options('atom'),
    ).announcements;

    // Assess
    expect(draft?.needsReview).toBe(true);
    expect(draft?.reviewReasons.join()).toMatch(/publication date/);
    expect(draft?.cutover).toBe('2026-12-01T14:00:00.000Z');
  });
});

describe('hostile and broken feeds', () => {
  it('refuses a billion-laughs entity bomb without expanding it', () => {
    // Prepare
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>TLS &lol3;</title></entry></feed>`;

    // Act / Assess
    expect(() => parseFeed(bomb, options('atom'))).toThrow(/declares XML entities/);
  });

  it('refuses an external entity', () => {
    // Prepare
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss><channel><item><title>&xxe; TLS</title></item></channel></rss>`;

    // Act / Assess
    expect(() => parseFeed(xxe, options('rss'))).toThrow(InvalidInputError);
  });

  it('leaves undeclared entity references as text instead of resolving them', () => {
    // Act
    const [draft] = parseFeed(
      atom(atomEntry('tls', 'TLS certificate &amp;custom; &#x41; rotation on 2026-12-01 at 14:00 UTC')),
      options('atom'),
    ).announcements;

    // Assess
    expect(draft?.rawText).toContain('&custom; A');
  });

  it.each([
    ['atom', '<feed><entry><title>TLS</title></feed>', /not well-formed XML/],
    ['rss', '<rss><channel><item><title>TLS</title></item></channel>', /not well-formed XML/],
    ['rss', '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>', /not an RSS feed/],
    ['atom', '<rss><channel></channel></rss>', /not an Atom feed/],
    ['statuspage-json', '{"scheduled_maintenances": [', /not valid JSON/],
    ['statuspage-json', '{"incidents": []}', /no scheduled_maintenances array/],
    ['statuspage-json', 'null', /no scheduled_maintenances array/],
    ['atom', '', /not an Atom feed|not well-formed/],
  ] as const)('rejects a broken %s feed with a message naming the feed', (kind, text, message) => {
    // Act / Assess
    expect(() => parseFeed(text, options(kind))).toThrow(message);
    expect(() => parseFeed(text, options(kind))).toThrow(/feed https:\/\/status\.vendor\.example\//);
  });

  it('refuses input over the size limit before parsing it', () => {
    // Prepare
    const huge = atom(atomEntry('tls', 'x'.repeat(3 * 1024 * 1024)));

    // Act / Assess
    expect(() => parseFeed(huge, options('atom'))).toThrow(/exceeds the 2097152-byte limit/);
    expect(() => parseFeed(atom(atomEntry('tls', 'TLS')), options('atom', { maxBytes: 10 }))).toThrow(
      /exceeds the 10-byte limit/,
    );
  });

  it('parses a large feed under the limit', () => {
    // Prepare
    const entries = Array.from({ length: 2000 }, (_, i) =>
      atomEntry(
        `item-${i}`,
        i % 100 === 0 ? 'TLS certificate rotation on 2026-12-01 at 14:00 UTC' : 'Nothing to see',
      ),
    ).join('');

    // Act
    const result = parseFeed(atom(entries), options('atom'));

    // Assess
    expect(result.announcements).toHaveLength(20);
    expect(result.skipped).toBe(1980);
  });

  it('rejects absurdly deep nesting as malformed input', () => {
    // Prepare
    const deep = `<feed>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</feed>`;

    // Act / Assess
    expect(() => parseFeed(deep, options('atom'))).toThrow(InvalidInputError);
  });

  it('ignores JSON items that are not objects and fields of the wrong type', () => {
    // Prepare
    const json = JSON.stringify({
      scheduled_maintenances: [
        42,
        null,
        {
          id: 7,
          name: 'TLS certificate rotation',
          scheduled_for: 12345,
          incident_updates: 'nope',
          components: [{}],
        },
      ],
    });

    // Act
    const result = parseFeed(json, options('statuspage-json'));

    // Assess
    expect(result.announcements).toHaveLength(1);
    expect(result.announcements[0]).toMatchObject({
      sourceId: expect.stringMatching(/#7$/),
      needsReview: true,
    });
  });
});

describe('keywords', () => {
  it.each([
    ['Cascading failure, certainly resolved', false],
    ['Our certification programme', false],
    ['New SSL certificates', true],
    ['mTLS outage', true],
    ['CA change', true],
    ['TLSv1.0 deprecation', false],
  ])('"%s" is certificate related: %s', (title, related) => {
    // Act
    const result = parseFeed(atom(atomEntry(title, 'on 2026-12-01 at 14:00 UTC')), options('atom'));

    // Assess
    expect(result.announcements.length === 1).toBe(related);
  });

  it('uses the configured words instead of the defaults', () => {
    // Act
    const result = parseFeed(
      atom(atomEntry('Keystore refresh', 'on 2026-12-01 at 14:00 UTC') + atomEntry('TLS rotation', 'x')),
      options('atom', { match: ['keystore'] }),
    );

    // Assess
    expect(result.announcements.map((a) => a.title)).toEqual(['Keystore refresh']);
  });
});

describe('dates', () => {
  it.each([
    ['2026-12-01T14:00:00Z', '2026-12-01T14:00:00.000Z'],
    ['2026-12-01T14:00:00.250+05:30', '2026-12-01T08:30:00.250Z'],
    ['2026-12-01T14:00:00-09:30', '2026-12-01T23:30:00.000Z'],
    ['2026-12-31T23:30:00-01:00', '2027-01-01T00:30:00.000Z'],
    ['2026-12-01 14:00:00+00:00', '2026-12-01T14:00:00.000Z'],
  ])('RFC 3339 %s is %s', (text, iso) => {
    // Act / Assess
    expect(parseRfc3339(text)).toEqual({ ok: true, at: iso });
  });

  it.each([
    ['2026-12-01T14:00:00', /no time zone offset/],
    ['2026-12-01', /no time or time zone/],
    ['2026-02-30T10:00:00Z', /not a valid date/],
    ['2026-12-01T25:00:00Z', /not a valid date/],
    ['2026-12-01T10:00:00+15:00', /offset out of range/],
    ['1 Dec 2026', /not an RFC 3339 date-time/],
  ])('RFC 3339 %s is refused', (text, problem) => {
    // Act
    const parsed = parseRfc3339(text);

    // Assess
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toMatch(problem);
  });

  it.each([
    ['Tue, 01 Dec 2026 14:00:00 GMT', '2026-12-01T14:00:00.000Z'],
    ['Tue, 1 Dec 2026 14:00:00 PST', '2026-12-01T22:00:00.000Z'],
    ['1 Dec 26 14:00 +0100', '2026-12-01T13:00:00.000Z'],
    ['Tue,  1 Dec 2026 14:00:00 -0930', '2026-12-01T23:30:00.000Z'],
    ['Tue, 01 Dec 2026 14:00:00 Z', '2026-12-01T14:00:00.000Z'],
  ])('RFC 822 %s is %s', (text, iso) => {
    // Act / Assess
    expect(parseRfc822(text)).toEqual({ ok: true, at: iso });
  });

  it.each([
    ['Tue, 01 Dec 2026 14:00:00', /no time zone/],
    ['Tue, 01 Dec 2026 14:00:00 XYZ', /unknown time zone/],
    ['Tue, 01 Foo 2026 14:00:00 GMT', /unknown month/],
    ['2026-12-01T14:00:00Z', /not an RFC 822 date/],
  ])('RFC 822 %s is refused', (text, problem) => {
    // Act
    const parsed = parseRfc822(text);

    // Assess
    expect(parsed.ok ? '' : parsed.problem).toMatch(problem);
  });

  it.each([
    ['on 2026-12-01 at 14:00 UTC', '2026-12-01T14:00:00.000Z', undefined],
    ['on 1 December 2026 at 14:00 CET', '2026-12-01T13:00:00.000Z', undefined],
    ['December 1st, 2026 at 9:30 am EST', '2026-12-01T14:30:00.000Z', undefined],
    ['Dec. 1, 2026 12:15 AM GMT', '2026-12-01T00:15:00.000Z', undefined],
    ['2026-12-01T14:00:00+02:00', '2026-12-01T12:00:00.000Z', undefined],
    ['on 2026-12-01 at 14:00 (UTC+5:30)', '2026-12-01T08:30:00.000Z', undefined],
    ['2026-12-01 14:00 IST', '2026-12-01T08:30:00.000Z', /ambiguous/],
    ['2026-12-01 14:00', '2026-12-01T00:00:00.000Z', /without a time zone/],
    ['2026-12-01', '2026-11-30T10:00:00.000Z', /date without a time/],
  ])('text "%s" reads as %s', (text, iso, problem) => {
    // Act
    const [found] = findTextDates(`Maintenance ${text}.`);

    // Assess
    expect(found?.at).toBe(iso);
    if (problem) expect(found?.problem).toMatch(problem);
    else expect(found?.problem).toBeUndefined();
  });

  it('reads a time range, including one past midnight', () => {
    // Act
    const [day, night] = findTextDates(
      'Window 2026-12-01 14:00 - 16:00 UTC, fallback 2026-12-02 22:00 to 02:00 UTC',
    );

    // Assess
    expect(day).toMatchObject({ at: '2026-12-01T14:00:00.000Z', end: '2026-12-01T16:00:00.000Z' });
    expect(night).toMatchObject({ at: '2026-12-02T22:00:00.000Z', end: '2026-12-03T02:00:00.000Z' });
  });

  it('ignores impossible dates in text', () => {
    // Act / Assess
    expect(findTextDates('on 2026-02-30 at 14:00 UTC and 2026-13-01')).toEqual([]);
  });

  it('decodes character references once and never recursively', () => {
    // Act / Assess
    expect(decodeXml('&amp;lt; &#60; &#x3C; &#0; &bogus;')).toBe('&lt; < < &#0; &bogus;');
  });
});
