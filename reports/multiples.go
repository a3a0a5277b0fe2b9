package reports

import (
	"fmt"
	"strings"

	"github.com/rtclab/rtclab/analysis"
)

// maxPerChart is the most lines one chart draws before it is split into
// small multiples: past it, 7 colours × 4 dashes repeat and lines that
// overlap cannot be told apart.
const maxPerChart = 8

// panel is one small multiple: a chart and the series it draws.
type panel struct {
	c      chart
	series []analysis.Series
}

// smallMultiples splits a chart of more than maxPerChart series into
// small multiples of at most maxPerChart series each, a publisher's
// series (the part of the name before "->") kept together where they fit:
// titled "…", a new line, "from alice, bob (1 of 4)", filed as STEM.png, STEM-2.png, ... A
// chart with few series stays as it is.
func smallMultiples(c chart, series []analysis.Series) []panel {
	if len(series) <= maxPerChart {
		return []panel{{c, series}}
	}
	var order []string
	groups := map[string][]analysis.Series{}
	for _, s := range series {
		k := publisherOf(s.Name)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	type pack struct {
		from   []string
		series []analysis.Series
	}
	var packs []pack
	for _, k := range order {
		g := groups[k]
		for len(g) > 0 {
			last := len(packs) - 1
			if last < 0 || len(packs[last].series)+min(len(g), maxPerChart) > maxPerChart {
				packs = append(packs, pack{})
				last++
			}
			n := min(len(g), maxPerChart-len(packs[last].series))
			packs[last].from = append(packs[last].from, k)
			packs[last].series = append(packs[last].series, g[:n]...)
			g = g[n:]
		}
	}
	stem := strings.TrimSuffix(c.file, ".png")
	out := make([]panel, len(packs))
	for i, p := range packs {
		pc := c
		pc.title = fmt.Sprintf("%s\nfrom %s (%d of %d)", c.title, strings.Join(p.from, ", "), i+1, len(packs))
		pc.file = c.file
		if i > 0 {
			pc.file = fmt.Sprintf("%s-%d.png", stem, i+1)
		}
		out[i] = panel{pc, p.series}
	}
	return out
}

// publisherOf is the sending end of a series name such as "bitrate
// alice->bob video" or "rtt bob<->sfu"; "other" when it names none.
func publisherOf(name string) string {
	for _, f := range strings.Fields(name) {
		if from, _, ok := strings.Cut(f, "->"); ok {
			if from = strings.TrimSuffix(from, "<"); from != "" {
				return from
			}
		}
	}
	return "other"
}
