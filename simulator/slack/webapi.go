package slack

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"
)

// apiBody is every Web API answer: the envelope (ok, error, warning,
// response_metadata) and the fields of each method, left out when empty.
type apiBody struct {
	OK        bool     `json:"ok"`
	Error     string   `json:"error,omitempty"`
	Errors    []string `json:"errors,omitempty"`
	ReqMethod string   `json:"req_method,omitempty"`

	// auth.test
	URL                 string `json:"url,omitempty"`
	Team                string `json:"team,omitempty"`
	User                string `json:"user,omitempty"`
	TeamID              string `json:"team_id,omitempty"`
	UserID              string `json:"user_id,omitempty"`
	BotID               string `json:"bot_id,omitempty"`
	IsEnterpriseInstall *bool  `json:"is_enterprise_install,omitempty"`

	// chat.postMessage (Channel is the ID) and conversations.info (an object)
	Channel any          `json:"channel,omitempty"`
	TS      string       `json:"ts,omitempty"`
	Message *messageJSON `json:"message,omitempty"`

	Warning          string            `json:"warning,omitempty"`
	ResponseMetadata *responseMetadata `json:"response_metadata,omitempty"`
}

type responseMetadata struct {
	Warnings []string `json:"warnings,omitempty"`
	Messages []string `json:"messages,omitempty"`
}

// messageJSON is a posted message as chat.postMessage echoes it.
type messageJSON struct {
	User        string          `json:"user"`
	Type        string          `json:"type"`
	TS          string          `json:"ts"`
	BotID       string          `json:"bot_id"`
	AppID       string          `json:"app_id"`
	Text        string          `json:"text"`
	Team        string          `json:"team"`
	Username    string          `json:"username,omitempty"`
	BotProfile  botProfile      `json:"bot_profile"`
	Blocks      json.RawMessage `json:"blocks,omitempty"`
	Attachments json.RawMessage `json:"attachments,omitempty"`
	ThreadTS    string          `json:"thread_ts,omitempty"`
	ParentUser  string          `json:"parent_user_id,omitempty"`
}

type botProfile struct {
	ID      string `json:"id"`
	AppID   string `json:"app_id"`
	Name    string `json:"name"`
	Deleted bool   `json:"deleted"`
	TeamID  string `json:"team_id"`
}

func jsonReply(status int, b apiBody) reply {
	raw, err := json.Marshal(b)
	if err != nil {
		panic(err) // every field marshals
	}
	return reply{status: status, contentType: "application/json; charset=utf-8", body: raw}
}

// apiAnswer is a Web API answer (HTTP 200) with the request's warning, if any.
func apiAnswer(a *args, b apiBody) reply {
	b.OK = b.Error == ""
	if a != nil && a.warning != "" {
		b.Warning = a.warning
		if b.ResponseMetadata == nil {
			b.ResponseMetadata = &responseMetadata{}
		}
		b.ResponseMetadata.Warnings = append(b.ResponseMetadata.Warnings, a.warning)
		if m := warningMessages[a.warning]; m != "" {
			b.ResponseMetadata.Messages = append(b.ResponseMetadata.Messages, m)
		}
	}
	return jsonReply(http.StatusOK, b)
}

// readCall parses a Web API call and checks its token. A non-empty error is
// Slack's answer to it.
func (s *Server) readCall(c *call) (*args, string) {
	a, bad := parseArgs(c.r, c.body)
	if bad != "" {
		return a, bad
	}
	token, bearer := strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if !bearer || token == "" {
		token = a.formToken
	}
	return a, s.checkToken(token)
}

// checkToken returns Slack's error for a token, or "".
func (s *Server) checkToken(token string) string {
	if token == "" {
		return "not_authed"
	}
	s.mu.RLock()
	state, known := s.tokens[token]
	s.mu.RUnlock()
	switch {
	case known:
		return state
	case len(s.opts.Tokens) == 0 && strings.HasPrefix(token, "xox"):
		return ""
	}
	return "invalid_auth"
}

// postMessage answers chat.postMessage.
func (s *Server) postMessage(c *call) reply {
	a, bad := s.readCall(c)
	ref, _ := a.str("channel")
	refuse := func(err string) reply {
		s.fail(Failure{Time: c.received, Via: ViaAPI, Channel: ref, Status: http.StatusOK, Error: err})
		return apiAnswer(a, apiBody{Error: err})
	}
	if bad != "" {
		return refuse(bad)
	}

	id, ok := s.resolveChannel(strings.TrimSpace(ref))
	if !ok {
		return refuse("channel_not_found")
	}
	s.mu.RLock()
	ch := s.channels[id]
	s.mu.RUnlock()
	switch {
	case ch.Private && !ch.Member:
		return refuse("channel_not_found")
	case ch.Archived:
		return refuse("is_archived")
	case !ch.Member && (ch.Private || !s.opts.WritePublic):
		return refuse("not_in_channel")
	}

	m, problems, bad := s.readMessage(a, id, c)
	if bad != "" {
		s.fail(Failure{Time: c.received, Via: ViaAPI, Channel: ref, Status: http.StatusOK, Error: bad})
		b := apiBody{Error: bad, Errors: problems}
		if len(problems) > 0 {
			b.ResponseMetadata = &responseMetadata{}
			for _, p := range problems {
				b.ResponseMetadata.Messages = append(b.ResponseMetadata.Messages, "[ERROR] "+p)
			}
		}
		return apiAnswer(a, b)
	}
	m.Username, _ = a.str("username")
	m.IconEmoji, _ = a.str("icon_emoji")
	m.IconURL, _ = a.str("icon_url")
	m.ReplyBroadcast = boolValue(a.boolean("reply_broadcast"))
	m.Via = ViaAPI

	// A refused message is checked before the rate limit and takes none of it.
	limits := s.limits.Load()
	if ok, wait := limits.post(id, true); !ok {
		s.fail(Failure{Time: c.received, Via: ViaAPI, Channel: ref, Status: http.StatusTooManyRequests, Error: "ratelimited"})
		return throttled(false, wait)
	}
	m, bad = s.commit(m)
	if bad != "" {
		limits.unpost(id)
		return refuse(bad)
	}
	return apiAnswer(a, apiBody{Channel: id, TS: m.TS, Message: s.echo(m)})
}

// readMessage reads and checks a message's content: text, blocks,
// attachments, thread and formatting flags. It returns Slack's error (with the
// problems of invalid blocks) when the content is refused.
func (s *Server) readMessage(a *args, channel string, c *call) (m Message, problems []string, bad string) {
	text, ok := a.str("text")
	if !ok {
		return m, nil, "invalid_arguments"
	}
	blocks, ok := jsonArray(a.raw("blocks"))
	if !ok {
		return m, nil, "invalid_blocks_format"
	}
	if blocks != nil {
		if problems := blockProblems(blocks); len(problems) > 0 {
			return m, problems, "invalid_blocks"
		}
	}
	attachments, ok := jsonArray(a.raw("attachments"))
	if !ok {
		return m, nil, "invalid_attachments"
	}
	if attachmentCount(attachments) > maxAttachments {
		return m, nil, "too_many_attachments"
	}
	if text == "" && blocks == nil && attachments == nil {
		return m, nil, "no_text"
	}
	if utf8.RuneCountInString(text) > s.opts.MaxTextChars {
		if s.opts.RefuseLongText {
			return m, nil, "msg_too_long"
		}
		text = truncate(text, s.opts.MaxTextChars)
	}
	thread, _ := a.str("thread_ts")
	return Message{
		Channel:     channel,
		Text:        text,
		Blocks:      blocks,
		Attachments: attachments,
		ThreadTS:    thread,
		Mrkdwn:      a.boolean("mrkdwn"),
		UnfurlLinks: a.boolean("unfurl_links"),
		UnfurlMedia: a.boolean("unfurl_media"),
		Time:        c.received,
	}, nil, ""
}

// commit asks Reject about a message, then stores it with its ts.
func (s *Server) commit(m Message) (Message, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reject != nil {
		if bad := s.reject(m); bad != "" {
			return m, bad
		}
	}
	m.TS = s.nextTS(m.Time)
	s.stored = append(s.stored, m)
	return m, ""
}

// echo is the message object of chat.postMessage's answer.
func (s *Server) echo(m Message) *messageJSON {
	o := s.opts
	e := &messageJSON{
		User: o.BotUserID, Type: "message", TS: m.TS, BotID: o.BotID, AppID: o.AppID,
		Text: m.Text, Team: o.TeamID, Username: m.Username,
		BotProfile:  botProfile{ID: o.BotID, AppID: o.AppID, Name: o.BotName, TeamID: o.TeamID},
		Blocks:      m.Blocks,
		Attachments: m.Attachments,
		ThreadTS:    m.ThreadTS,
	}
	if m.ThreadTS != "" {
		e.ParentUser = s.parentUser(m.Channel, m.ThreadTS)
	}
	return e
}

// parentUser is the author of a thread's parent: the bot when it posted it.
func (s *Server) parentUser(channel, ts string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, m := range s.stored {
		if m.Channel == channel && m.TS == ts {
			return s.opts.BotUserID
		}
	}
	return ""
}

func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func boolValue(b *bool) bool { return b != nil && *b }

// authTest answers auth.test.
func (s *Server) authTest(c *call) reply {
	a, bad := s.readCall(c)
	if bad != "" {
		return apiAnswer(a, apiBody{Error: bad})
	}
	o := s.opts
	no := false
	return apiAnswer(a, apiBody{
		URL: "https://" + o.TeamDomain + ".slack.com/", Team: o.Team, User: o.BotName,
		TeamID: o.TeamID, UserID: o.BotUserID, BotID: o.BotID, IsEnterpriseInstall: &no,
	})
}

// conversation is a channel as conversations.info describes it.
type conversation struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	IsChannel          bool     `json:"is_channel"`
	IsGroup            bool     `json:"is_group"`
	IsIM               bool     `json:"is_im"`
	IsMPIM             bool     `json:"is_mpim"`
	IsPrivate          bool     `json:"is_private"`
	Created            int64    `json:"created"`
	IsArchived         bool     `json:"is_archived"`
	IsGeneral          bool     `json:"is_general"`
	Unlinked           int      `json:"unlinked"`
	NameNormalized     string   `json:"name_normalized"`
	IsShared           bool     `json:"is_shared"`
	IsOrgShared        bool     `json:"is_org_shared"`
	IsPendingExtShared bool     `json:"is_pending_ext_shared"`
	PendingShared      []string `json:"pending_shared"`
	ContextTeamID      string   `json:"context_team_id"`
	Updated            int64    `json:"updated"`
	Creator            string   `json:"creator"`
	IsExtShared        bool     `json:"is_ext_shared"`
	SharedTeamIDs      []string `json:"shared_team_ids"`
	IsMember           bool     `json:"is_member"`
	Topic              topic    `json:"topic"`
	Purpose            topic    `json:"purpose"`
	PreviousNames      []string `json:"previous_names"`
	NumMembers         *int     `json:"num_members,omitempty"`
}

type topic struct {
	Value   string `json:"value"`
	Creator string `json:"creator"`
	LastSet int64  `json:"last_set"`
}

// conversationsInfo answers conversations.info, which takes a channel ID only.
func (s *Server) conversationsInfo(c *call) reply {
	a, bad := s.readCall(c)
	if bad != "" {
		return apiAnswer(a, apiBody{Error: bad})
	}
	if ok, wait := s.limits.Load().infoCall(); !ok {
		return throttled(false, wait)
	}
	ref, _ := a.str("channel")
	ref = strings.TrimSpace(ref)
	if !channelIDRE.MatchString(ref) {
		return apiAnswer(a, apiBody{Error: "channel_not_found"})
	}
	id, ok := s.resolveChannel(ref)
	if !ok {
		return apiAnswer(a, apiBody{Error: "channel_not_found"})
	}
	s.mu.RLock()
	ch := s.channels[id]
	s.mu.RUnlock()
	if ch.Private && !ch.Member {
		return apiAnswer(a, apiBody{Error: "channel_not_found"})
	}
	created := s.created.Unix()
	conv := conversation{
		ID: id, Name: ch.Name, IsChannel: !ch.Private, IsGroup: ch.Private, IsPrivate: ch.Private,
		Created: created, IsArchived: ch.Archived, IsGeneral: ch.Name == "general",
		NameNormalized: ch.Name, PendingShared: []string{}, ContextTeamID: s.opts.TeamID,
		Updated: s.created.UnixMilli(), Creator: "U0SIMUSR1", SharedTeamIDs: []string{s.opts.TeamID},
		IsMember: ch.Member, Topic: topic{}, Purpose: topic{}, PreviousNames: []string{},
	}
	if boolValue(a.boolean("include_num_members")) {
		n := 1
		if ch.Member {
			n++
		}
		conv.NumMembers = &n
	}
	return apiAnswer(a, apiBody{Channel: conv})
}
