package salesforce

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connector"
)

// A Bulk API 2.0 job's results are three CSV files, in no particular order:
// successfulResults (sf__Id, sf__Created, then the uploaded columns),
// failedResults (sf__Id, sf__Error, then the uploaded columns) and
// unprocessedrecords (the uploaded columns). Each result row is matched to its
// batch row by the key column the upload carried: the external ID for inserts
// and upserts, the Id for updates and deletes (the first 15 characters, which
// are the same in an Id's 15- and 18-character forms). When records share a key
// (an insert on an External ID that is not unique, two updates of one record),
// a result goes to the record whose every cell it echoes; records alike in
// every cell, or results whose cells cannot be compared, take the key's results
// in turn, the record that sent the key's exact text first. A result whose
// cells match none of the records sharing its key is given to none (in turn, it
// could report a refused record written): the records of that key it leaves
// without a result fail, their outcome unknown. A record no result names fails.

type fateState uint8

const (
	fateOpen fateState = iota
	fateSucceeded
	fateFailed
	fateUnprocessed
)

// fate is one batch row's result.
type fate struct {
	state   fateState
	code    string // the statusCode of a failure
	message string
}

// resultMatcher assigns result rows to the job's records.
type resultMatcher struct {
	d      *Destination
	op     operation
	keyCol string
	// Records waiting for a result, by the key's text as sent and by key (see
	// key): a result takes the record that sent its exact text first.
	exact, loose map[string][]int
	// The records that share a key with others, by their line's cells (see
	// lineKey), and the keys they share.
	byLine map[string][]int
	shared map[string]bool
	header []string // the upload's columns
	fates  []fate

	// astray counts, by key (see key), the results of a shared key whose cells
	// match none of its records still waiting; strays is their total.
	astray map[string]int
	strays int

	matched, unmatched, left int
	processed                int // results that are successes or failures
}

func (d *Destination) newResultMatcher(b *connector.Batch, op operation, ops []recordOp) *resultMatcher {
	m := &resultMatcher{d: d, op: op, keyCol: d.extID, fates: make([]fate, len(ops)), left: len(ops),
		exact: make(map[string][]int, len(ops)), loose: make(map[string][]int, len(ops))}
	if op == opUpdate || op == opDelete {
		m.keyCol = idField
	}
	for j := range ops {
		sent := m.sent(&ops[j])
		m.exact[sent] = append(m.exact[sent], j)
		m.loose[m.key(sent)] = append(m.loose[m.key(sent)], j)
	}
	for k, q := range m.loose {
		if len(q) < 2 {
			continue
		}
		if m.byLine == nil {
			m.byLine, m.shared = map[string][]int{}, map[string]bool{}
			m.header = d.csvHeader(op)
		}
		m.shared[k] = true
		for _, j := range q {
			line := lineKey(d.csvCells(b, op, &ops[j]))
			m.byLine[line] = append(m.byLine[line], j)
		}
	}
	return m
}

// sent is the key cell a record's line carries.
func (m *resultMatcher) sent(o *recordOp) string {
	if m.keyCol == idField {
		return o.id
	}
	return o.ext
}

// lineKey is the text a record's line is known by: its cells, each with its length.
func lineKey(cells []string) string {
	var b strings.Builder
	for _, c := range cells {
		b.WriteString(strconv.Itoa(len(c)))
		b.WriteByte(':')
		b.WriteString(c)
	}
	return b.String()
}

// key is how a result's key cell is compared with the sent value.
func (m *resultMatcher) key(s string) string {
	if m.keyCol == idField {
		if len(s) > 15 {
			return s[:15]
		}
		return s
	}
	return m.d.extKey(s)
}

// open is the number of records without a result yet.
func (m *resultMatcher) open() int { return m.left }

// read takes in one results file.
func (m *resultMatcher) read(kind string, body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil // no rows: Salesforce may answer an empty body
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return m.unreadable(kind, err)
	}
	header = append([]string(nil), header...)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	keyAt, errorAt := -1, -1
	for i, h := range header {
		switch {
		case strings.EqualFold(h, m.keyCol):
			keyAt = i
		case h == "sf__Error":
			errorAt = i
		}
	}
	idAt := -1
	for i, h := range header {
		if h == "sf__Id" {
			idAt = i
		}
	}
	if keyAt < 0 && !(m.keyCol == idField && idAt >= 0) {
		return m.unreadable(kind, fmt.Errorf("no %s column in %q", m.keyCol, strings.Join(header, ",")))
	}
	// Where the results echo each uploaded column, to tell apart records that
	// share a key; nil when some column is missing.
	var echo []int
	if m.byLine != nil {
		echo = make([]int, len(m.header))
		for k, name := range m.header {
			echo[k] = slices.IndexFunc(header, func(h string) bool { return strings.EqualFold(h, name) })
			if echo[k] < 0 {
				echo = nil
				break
			}
		}
	}
	state := fateSucceeded
	switch kind {
	case "failedResults":
		state = fateFailed
	case "unprocessedrecords":
		state = fateUnprocessed
	}
	var cells []string
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return m.unreadable(kind, err)
		}
		cell := func(i int) string {
			if i < 0 || i >= len(row) {
				return ""
			}
			return row[i]
		}
		key := cell(keyAt)
		if key == "" && m.keyCol == idField {
			key = cell(idAt)
		}
		f := fate{state: state}
		if state == fateFailed {
			f.code, f.message = parseBulkError(cell(errorAt))
		}
		line := ""
		if echo != nil && m.shared[m.key(key)] {
			cells = cells[:0]
			for _, i := range echo {
				cells = append(cells, cell(i))
			}
			line = lineKey(cells)
		}
		m.assign(key, line, f)
	}
}

// assign gives its fate to the next record waiting on the key cell sent: the
// one whose line the result echoes (line, "" when the key is not shared or the
// cells cannot be compared).
func (m *resultMatcher) assign(sent, line string, f fate) {
	processed := f.state != fateUnprocessed
	j, ok := 0, false
	if line != "" {
		if j, ok = m.take(m.byLine, line); !ok {
			// The result is one record's of the key, but which is unknown:
			// handed to the next one in turn, a success could be reported for
			// a record Salesforce refused. The records of the key it leaves
			// waiting fail (see jobOutcome).
			if m.astray == nil {
				m.astray = map[string]int{}
			}
			m.astray[m.key(sent)]++
			m.strays++
			if processed {
				m.processed++
			}
			return
		}
	}
	if !ok {
		j, ok = m.take(m.exact, sent)
	}
	if !ok {
		j, ok = m.take(m.loose, m.key(sent))
	}
	if !ok {
		m.unmatched++
		return
	}
	m.fates[j] = f
	m.matched++
	if processed {
		m.processed++
	}
	m.left--
}

// take pops the first record of queue[k] still waiting for a result.
func (m *resultMatcher) take(queue map[string][]int, k string) (int, bool) {
	q := queue[k]
	for len(q) > 0 && m.fates[q[0]].state != fateOpen {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(queue, k)
		return 0, false
	}
	queue[k] = q[1:]
	return q[0], true
}

func (m *resultMatcher) unreadable(kind string, err error) error {
	return connector.Permanent(fmt.Errorf("salesforce: %s %s: cannot read the bulk job's %s (%v); its rows are sent again on the next run", m.op.action(), m.d.object, kind, err))
}

// parseBulkError reads sf__Error, "STATUS_CODE:message:fields --", into the
// status code and a message for the row: "REQUIRED_FIELD_MISSING: Required
// fields are missing: [Name] (fields: Name)".
func parseBulkError(s string) (code, message string) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "--"))
	if s == "" {
		return "", "refused without an error"
	}
	code, rest, ok := strings.Cut(s, ":")
	if !ok || strings.ContainsAny(code, " ") || strings.ToUpper(code) != code {
		return "", s
	}
	rest = strings.TrimSpace(rest)
	fields := ""
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		tail := strings.TrimSpace(rest[i+1:])
		if tail != "" && !strings.ContainsAny(tail, " []") {
			fields, rest = tail, strings.TrimSpace(rest[:i])
		} else if tail == "" {
			rest = strings.TrimSpace(rest[:i])
		}
	}
	e := apiError{StatusCode: code, Message: rest}
	if fields != "" {
		e.Fields = strings.Split(fields, ",")
	}
	return code, e.describe()
}
