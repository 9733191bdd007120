package slack

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// Message is one message Slack accepted, as tests see it.
type Message struct {
	Channel string // the channel's ID, whatever the request named
	TS      string // "1712345678.000100"; unique and increasing in arrival order
	Text    string // cut to MaxTextChars characters
	Blocks  json.RawMessage
	// Attachments are the legacy attachments, as sent.
	Attachments    json.RawMessage
	ThreadTS       string
	ReplyBroadcast bool
	// Username, IconEmoji and IconURL are the authorship overrides of the Web
	// API (webhooks ignore them, as Slack does).
	Username, IconEmoji, IconURL string
	// Mrkdwn, UnfurlLinks and UnfurlMedia are nil when the request left them out.
	Mrkdwn, UnfurlLinks, UnfurlMedia *bool
	Via                              string // "api" or "webhook"
	// Webhook is the webhook's path key ("T…/B…/secret") when Via is "webhook".
	Webhook string
	Time    time.Time
}

// Ways a message arrives.
const (
	ViaAPI     = "api"
	ViaWebhook = "webhook"
)

// Failure is a post (chat.postMessage or a webhook) that stored nothing, with why.
type Failure struct {
	Time    time.Time
	Via     string
	Channel string // as the request named it ("#alerts", an ID, or the webhook's channel)
	Status  int    // HTTP status of the answer
	// Error is Slack's error string ("channel_not_found", "ratelimited"…), or ""
	// for an injected 5xx.
	Error string
}

const maxFailures = 100_000

// messages returns the stored messages of a channel, or of all when id is "".
func (s *Server) messages(id string) []Message {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Message
	for _, m := range s.stored {
		if id == "" || m.Channel == id {
			out = append(out, m)
		}
	}
	return out
}

// nextTS returns a message timestamp after every earlier one: the clock's
// seconds and microseconds, moved on by a microsecond when the clock has not
// moved. Call with s.mu held.
func (s *Server) nextTS(now time.Time) string {
	us := now.UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}

func (s *Server) fail(f Failure) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	s.failures = append(s.failures, f)
	if over := len(s.failures) - maxFailures; over > 0 {
		s.failures = slices.Delete(s.failures, 0, over)
	}
}

// findChannel resolves what a request named, an ID or a name with or without
// "#", to a channel ID. Call with s.mu held (read or write).
func (s *Server) findChannel(ref string) (string, bool) {
	if name, ok := strings.CutPrefix(ref, "#"); ok {
		id, ok := s.names[name]
		return id, ok
	}
	if _, ok := s.channels[ref]; ok {
		return ref, true
	}
	id, ok := s.names[ref]
	return id, ok
}

// resolveChannel is findChannel, creating the channel when AnyChannel allows.
func (s *Server) resolveChannel(ref string) (string, bool) {
	s.mu.RLock()
	id, ok := s.findChannel(ref)
	s.mu.RUnlock()
	if ok || !s.opts.AnyChannel {
		return id, ok
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.findChannel(ref); ok {
		return id, ok
	}
	name, hashed := strings.CutPrefix(ref, "#")
	switch {
	case !hashed && channelIDRE.MatchString(ref):
		id, name = ref, strings.ToLower(ref)
	case channelNameRE.MatchString(name):
		id = derivedID(name)
	default:
		return "", false
	}
	if _, taken := s.names[name]; taken {
		return "", false
	}
	s.channels[id] = Channel{Name: name, Member: true}
	s.names[name] = id
	return id, true
}

// derivedID is the ID given to a channel AnyChannel creates by name: stable, so
// that a test can predict it.
func derivedID(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return fmt.Sprintf("C%010X", h.Sum64()>>24)
}
