/// The Lua scripts that make each step on a key atomic in Redis
/// (docs/operations.md, "Idempotency keys in Redis", has the record layout).
///
/// A key's record is a hash under `event-service:idempotency:<key>`:
/// `fp` (the body's SHA-256, hex), `id` (the event id), `outcome` (`""`
/// until the first attempt ended, then `stored`, `rejected` or `failed`),
/// `status` and `body` (the answer replayed for `rejected`), `lease` (when
/// the request in flight must have ended, in Redis's own milliseconds; 0 when
/// none is in flight), `owner` (who holds the lease) and `creator` (who made
/// the record). Its TTL is set once, when it is made: a key lives
/// `IDEMPOTENCY_TTL_MS` from its first use. Time is Redis's (`TIME`), the
/// same for every instance.
enum RedisScripts {
  static let keyPrefix = "event-service:idempotency:"

  /// The three steps, each one script.
  enum Step: Int {
    case begin, finish, release

    /// The script's text as bytes, made once.
    var script: [UInt8] { Self.texts[rawValue] }

    private static let texts = [
      Array(RedisScripts.begin.utf8), Array(RedisScripts.finish.utf8),
      Array(RedisScripts.release.utf8),
    ]
  }

  /// KEYS[1] the record; ARGV fingerprint, new id, TTL ms, lease ms, owner.
  /// Returns {"send", id, how} (how: "new", "again", "takeover"),
  /// {"busy"}, {"mismatch"} or {"replay", id, outcome, status, body}.
  static let begin = """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local r = redis.call('HMGET', KEYS[1], 'fp', 'id', 'outcome', 'status', 'body', 'lease')
    if not r[1] then
      redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'id', ARGV[2], 'outcome', '',
        'lease', now + tonumber(ARGV[4]), 'owner', ARGV[5], 'creator', ARGV[5])
      redis.call('PEXPIRE', KEYS[1], ARGV[3])
      return {'send', ARGV[2], 'new'}
    end
    local lease = tonumber(r[6]) or 0
    if lease > now then return {'busy'} end
    if r[1] ~= ARGV[1] then return {'mismatch'} end
    if r[3] == 'stored' or r[3] == 'rejected' then
      return {'replay', r[2], r[3], r[4] or '', r[5] or ''}
    end
    redis.call('HSET', KEYS[1], 'lease', now + tonumber(ARGV[4]), 'owner', ARGV[5])
    if lease > 0 then return {'send', r[2], 'takeover'} end
    return {'send', r[2], 'again'}
    """

  /// KEYS[1] the record; ARGV owner, outcome, status, body. Records the
  /// outcome and ends the lease, unless the lease was taken over. Returns 1
  /// or 0.
  static let finish = """
    if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
    if tonumber(redis.call('HGET', KEYS[1], 'lease')) == 0 then return 0 end
    redis.call('HSET', KEYS[1], 'outcome', ARGV[2], 'status', ARGV[3], 'body', ARGV[4], 'lease', 0)
    return 1
    """

  /// KEYS[1] the record; ARGV owner. The request was not sent: a record its
  /// own request made is deleted (the key was never used); any other keeps
  /// its id and last outcome, with no lease. Returns 1 or 0.
  static let release = """
    local r = redis.call('HMGET', KEYS[1], 'owner', 'creator', 'outcome', 'lease')
    if r[1] ~= ARGV[1] or tonumber(r[4]) == 0 then return 0 end
    if r[2] == ARGV[1] and r[3] == '' then
      redis.call('DEL', KEYS[1])
    else
      redis.call('HSET', KEYS[1], 'lease', 0)
    end
    return 1
    """
}
