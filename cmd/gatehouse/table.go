package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// tableWidth is the widest line a table prints: a row never wraps a
// terminal of 100 columns.
const tableWidth = 100

// columnGap is the space between two columns.
const columnGap = 2

// minColumn is the narrowest a column is cut to, its ellipsis included.
const minColumn = 4

// minText is the width free text keeps while names can still give way.
const minText = 20

// columnKind says how readily a column gives way when a row would pass
// tableWidth.
type columnKind int

const (
	// nameColumn holds names and codes (an account, a user, a reason
	// code): cut only after free text.
	nameColumn columnKind = iota
	// textColumn holds free text (a message): cut first.
	textColumn
	// fixedColumn holds what a user copies into the next command (a
	// request id), a status or a date: cut only when every other column is
	// down to minColumn.
	fixedColumn
)

// column is one column of a table.
type column struct {
	header string
	kind   columnKind
}

// printTable writes rows under header, aligned in columns, in at most
// tableWidth columns: the first column is fixed, the others are names, cut
// with an ellipsis when the line would be wider (see writeTable).
func printTable(w io.Writer, header []string, rows [][]string) error {
	cols := make([]column, len(header))
	for i, h := range header {
		cols[i] = column{header: h}
		if i == 0 {
			cols[i].kind = fixedColumn
		}
	}
	return writeTable(w, cols, rows)
}

// writeTable writes rows under the headers of cols, aligned, no line wider
// than tableWidth. Control characters in a cell (a newline in a message)
// print as spaces, so a row is one line. When the columns do not fit, the
// widest column that may still shrink loses one character at a time, in
// rounds: free text down to minText, names down to their header, free text
// down to its header, both down to minColumn, then every column; a cut
// cell ends with "…".
func writeTable(w io.Writer, cols []column, rows [][]string) error {
	cells := make([][]string, 0, len(rows)+1)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.header
	}
	cells = append(cells, header)
	for _, r := range rows {
		line := make([]string, len(cols))
		for i := range cols {
			if i < len(r) {
				line[i] = cleanCell(r[i])
			}
		}
		cells = append(cells, line)
	}
	widths := make([]int, len(cols))
	for _, line := range cells {
		for i, cell := range line {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	fitWidths(cols, widths, tableWidth)

	var buf bytes.Buffer
	for _, line := range cells {
		buf.WriteString(formatRow(line, widths))
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// formatRow lays out one row of cells in columns of widths, cutting a
// longer cell with an ellipsis, and ends it with a newline.
func formatRow(cells []string, widths []int) string {
	var b strings.Builder
	for i, cell := range cells {
		cell = truncate(cleanCell(cell), widths[i])
		b.WriteString(cell)
		if i < len(cells)-1 {
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+columnGap))
		}
	}
	return strings.TrimRight(b.String(), " ") + "\n"
}

// fitWidths narrows widths until the columns and their gaps fit in limit.
func fitWidths(cols []column, widths []int, limit int) {
	total := columnGap * max(len(widths)-1, 0)
	for _, w := range widths {
		total += w
	}
	header := func(i int) int { return max(minColumn, utf8.RuneCountInString(cols[i].header)) }
	// Each round says how far each column may shrink in it.
	rounds := []func(i int) int{
		func(i int) int { return when(cols[i].kind == textColumn, max(minText, header(i)), widths[i]) },
		func(i int) int { return when(cols[i].kind == nameColumn, header(i), widths[i]) },
		func(i int) int { return when(cols[i].kind == textColumn, header(i), widths[i]) },
		func(i int) int { return when(cols[i].kind != fixedColumn, minColumn, widths[i]) },
		func(int) int { return minColumn },
	}
	for _, floor := range rounds {
		for total > limit {
			widest := -1
			for i := range widths {
				if widths[i] > floor(i) && (widest < 0 || widths[i] > widths[widest]) {
					widest = i
				}
			}
			if widest < 0 {
				break
			}
			widths[widest]--
			total--
		}
	}
}

// when is cond ? a : b.
func when(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}

// truncate cuts s to n characters, the last one an ellipsis when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// cleanCell makes a cell one line: every control character is a space.
func cleanCell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// orDash shows an empty cell as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// timeCell shows a time for a table, "-" when unset: the date alone at
// midnight UTC (the usual expiry), else the date and the minute, in UTC.
func timeCell(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	u := t.UTC()
	if u.Equal(u.Truncate(24 * time.Hour)) {
		return u.Format(time.DateOnly)
	}
	return u.Format("2006-01-02 15:04")
}

// dateCell shows the day of a time for a narrow table, in UTC, "-" when
// unset; "requests show" gives the instant.
func dateCell(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

// ageCell shows how long before now t was, in its largest unit: 45s, 12m,
// 5h (under two days), 3d.
func ageCell(now, t time.Time) string {
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

// mapCell shows a small map as k=v pairs in key order.
func mapCell(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return orDash(strings.Join(parts, ","))
}

// printFields writes the fields of a JSON object as "key: value" lines,
// values aligned: the keys of order first, in that order, then any other
// in name order, so that a field the API adds is shown too. Null and empty
// fields are left out; a list prints comma-separated, a string as is, its
// lines wrapped between words to stay within tableWidth and indented under
// the first, anything else as compact JSON.
func printFields(w io.Writer, raw json.RawMessage, order []string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("the server answered something other than a JSON object: %w", err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	type line struct{ key, value string }
	var lines []line
	width := 0
	for _, k := range keys {
		v := fieldValue(fields[k])
		if v == "" {
			continue
		}
		lines = append(lines, line{k, v})
		width = max(width, len(k)+1)
	}
	var buf bytes.Buffer
	indent := strings.Repeat(" ", width+1)
	for _, l := range lines {
		value := strings.Join(wrapText(l.value, max(tableWidth-width-1, minText)), "\n"+indent)
		fmt.Fprintf(&buf, "%-*s %s\n", width, l.key+":", value)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// wrapText breaks s into lines of at most n characters: at its own line
// breaks, between words, and inside a word longer than n.
func wrapText(s string, n int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(cleanCell(para)) {
			for utf8.RuneCountInString(word) > n {
				if line != "" {
					out, line = append(out, line), ""
				}
				r := []rune(word)
				out, word = append(out, string(r[:n])), string(r[n:])
			}
			switch {
			case line == "":
				line = word
			case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= n:
				line += " " + word
			default:
				out, line = append(out, line), word
			}
		}
		out = append(out, line)
	}
	return out
}

// fieldValue is how printFields shows one JSON value; "" leaves it out.
func fieldValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\r", "")
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, ", ")
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) != nil || compact.String() == "null" || compact.String() == "{}" {
		return ""
	}
	return compact.String()
}

// parsePairs turns ["a=b", ...] into a map, naming the flag on bad input.
func parsePairs(flag string, pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("--%s %q: want KEY=VALUE", flag, p)
		}
		m[k] = v
	}
	return m, nil
}
