-- wrk: each request asks for the week of a random day of the seeded year (half a year back
-- and ahead), so the server renders each of those weeks once and then serves it kept.
local now = os.time()

function init(args)
    math.randomseed(now + math.floor(os.clock() * 1000000))
end

function request()
    local day = os.date("!%Y-%m-%d", now + math.random(-183, 182) * 86400)
    return wrk.format("GET", "/?dato=" .. day)
end
