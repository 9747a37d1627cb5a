"""The search crowd (issue 15), run by bench/run: catalogues of 100k and 1M varied listings
(30 kinds of produce, 20 places, 10 qualifiers), 20,000 distinct searches from a fixed seed
(with and without diacritics, two words, typos, prefixes, filters, every sort, pages 1-3) on 32
connections against /healthz of the same server; suggestions; the index's rebuild time and the
server's peak memory; and how long a change on one server takes to be found on another."""

import json, random, re, threading, time, unicodedata, urllib.parse

KINDS = [("Vải thiều", "fruit"), ("Cam sành", "fruit"), ("Bưởi da xanh", "fruit"), ("Xoài cát", "fruit"),
         ("Nhãn lồng", "fruit"), ("Thanh long ruột đỏ", "fruit"), ("Sầu riêng", "fruit"), ("Măng cụt", "fruit"),
         ("Chôm chôm", "fruit"), ("Mít Thái", "fruit"), ("Bơ sáp", "fruit"), ("Dứa", "fruit"),
         ("Gạo ST25", "rice_grain"), ("Gạo nếp cái hoa vàng", "rice_grain"), ("Chè Shan tuyết", "tea_coffee"),
         ("Cà phê Robusta", "tea_coffee"), ("Cà phê Arabica", "tea_coffee"), ("Mật ong bạc hà", "processed"),
         ("Đường phèn", "processed"), ("Nước mắm", "processed"), ("Tôm sú", "seafood"), ("Cá tra", "seafood"),
         ("Mực khô", "seafood"), ("Gà đồi", "livestock"), ("Thịt bò", "livestock"), ("Rau cải ngọt", "vegetable"),
         ("Cà chua", "vegetable"), ("Khoai lang tím", "vegetable"), ("Hành tím", "vegetable"), ("Tỏi Lý Sơn", "vegetable")]
# Places with their 2008 province codes.
PLACES = [("Lục Ngạn", "24"), ("Thanh Hà", "30"), ("Hà Giang", "02"), ("Bến Tre", "83"), ("Hưng Yên", "33"),
          ("Bình Thuận", "60"), ("Đắk Lắk", "66"), ("Sóc Trăng", "94"), ("Tân Cương", "19"), ("Cà Mau", "96"),
          ("Đà Lạt", "68"), ("Quảng Ngãi", "51"), ("Phú Quốc", "91"), ("Tiền Giang", "82"), ("Cần Thơ", "92"),
          ("Sơn La", "14"), ("Mộc Châu", "14"), ("Hòa Bình", "17"), ("Nghệ An", "40"), ("Lâm Đồng", "68")]
QUALIFIERS = ["loại 1", "hữu cơ", "tươi", "sấy khô", "đặc biệt", "nhà vườn", "xuất khẩu", "quà biếu", "giá sỉ", "VietGAP"]
CERTIFICATIONS = ["VietGAP", "GlobalGAP", "organic", "OCOP"]
SORTS = ["relevance", "newest", "price_asc", "price_desc", "popular"]


def fold(text):
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def generate(path, products, households=2_000, seed=15):
    """An NDJSON import file of households and products only."""
    rng = random.Random(seed)
    start = 1577836800
    with open(path, "w") as out:
        for h in range(households):
            place, code = rng.choice(PLACES)
            out.write(json.dumps({"kind": "household", "ref": f"h{h}", "name": f"Hộ {rng.choice(['Nguyễn', 'Trần', 'Lê', 'Phạm'])} {h} {place}",
                                  "province_code": code,
                                  "joined_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + h * 600))}) + "\n")
        for p in range(products):
            kind, category = rng.choice(KINDS)
            place, code = rng.choice(PLACES)
            qualifier = rng.choice(QUALIFIERS)
            record = {"kind": "product", "ref": f"p{p}", "household": f"h{rng.randrange(households)}",
                      "name": f"{kind} {place} {qualifier}", "description": f"Đặc sản {place}, {qualifier}, lô {p}",
                      "category": category, "unit": "kg", "unit_weight_grams": 1000,
                      "price_vnd": rng.randrange(5, 800) * 1000,
                      "stock_quantity": 0 if rng.random() < 0.1 else rng.randrange(1, 5000),
                      "origin_province_code": code,
                      "certifications": sorted(set(rng.sample(CERTIFICATIONS, rng.randrange(0, 3)))),
                      "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + p * 30))}
            if "OCOP" in record["certifications"]:
                record["ocop_stars"] = 4
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def typo(word, rng):
    if len(word) < 5:
        return word
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def crowd_paths(path, count=20_000, seed=15):
    """`count` distinct search paths."""
    rng = random.Random(seed)
    paths = set()
    while len(paths) < count:
        kind, category = rng.choice(KINDS)
        place, code = rng.choice(PLACES)
        words = kind.split()
        shape = rng.randrange(7)
        q = [kind, " ".join(words[:2]), f"{words[0]} {place}", place, f"{kind} {rng.choice(QUALIFIERS)}",
             " ".join(typo(w, rng) for w in fold(kind).split()), fold(kind)[:rng.randrange(3, len(fold(kind)) + 1)]][shape]
        if rng.random() < 0.5:
            q = fold(q)
        params = {"q": q}
        if rng.random() < 0.25:
            params["province_code"], params["map"] = code, "2008"
        if rng.random() < 0.2:
            params["category"] = category
        if rng.random() < 0.2:
            low = rng.randrange(0, 400) * 1000
            params["min_price_vnd"], params["max_price_vnd"] = low, low + rng.randrange(50, 400) * 1000
        if rng.random() < 0.2:
            params["in_stock"] = "true"
        if rng.random() < 0.1:
            params["certification"] = rng.choice(CERTIFICATIONS)
        if rng.random() < 0.5:
            params["sort"] = rng.choice(SORTS)
        params["page"] = rng.choice([1, 1, 1, 2, 3])
        paths.add("/api/v1/products?" + urllib.parse.urlencode(params))
    with open(path, "w") as out:
        out.write("\n".join(sorted(paths)) + "\n")


def suggest_paths(path, count=5_000, seed=16):
    rng = random.Random(seed)
    paths = set()
    while len(paths) < count:
        kind, _ = rng.choice(KINDS)
        text = f"{kind} {rng.choice(PLACES)[0]}"
        if rng.random() < 0.5:
            text = fold(text)
        paths.add("/api/v1/products/suggest?" + urllib.parse.urlencode({"q": text[:rng.randrange(2, len(text) + 1)]}))
    with open(path, "w") as out:
        out.write("\n".join(sorted(paths)) + "\n")


def index_build_seconds(log_text):
    found = re.findall(r'"seconds":([\d.]+)[^\n]*built the catalogue index|built the catalogue index[^\n]*"seconds":([\d.]+)', log_text)
    for a, b in found:
        return float(a or b)
    return None


def freshness(server_a, server_b, http_json, rounds=20):
    """Seconds from a PATCH on server A answering to server B finding the new name."""
    email = f"fresh-{random.randrange(10**9)}@bench.vn"
    http_json("POST", server_a.base + "/api/v1/auth/register",
              {"email": email, "password": "bench-password", "full_name": "Bench", "role": "farmer"})
    token = http_json("POST", server_a.base + "/api/v1/auth/login", {"email": email, "password": "bench-password"})["token"]
    household = http_json("POST", server_a.base + "/api/v1/households", {"name": "Hộ đo độ tươi", "province_code": "24"}, token)["id"]
    product = http_json("POST", server_a.base + "/api/v1/products",
                        {"household_id": household, "name": "Vải kiểm tra", "category": "fruit", "unit": "kg",
                         "unit_weight_grams": 1000, "price_vnd": 30000, "stock_quantity": 5}, token)["id"]
    delays = []
    for n in range(rounds):
        word = f"tuoimoi{n}x{random.randrange(10**6)}"
        http_json("PATCH", f"{server_a.base}/api/v1/products/{product}", {"name": f"Vải {word}"}, token)
        answered = time.time()
        while True:
            page = http_json("GET", f"{server_b.base}/api/v1/products?q={word}")
            if page["total"] == 1:
                delays.append(time.time() - answered)
                break
            if time.time() - answered > 30:
                delays.append(float("inf"))
                break
            time.sleep(0.01)
    delays.sort()
    return {"p50_s": delays[len(delays) // 2], "p99_s": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
            "max_s": delays[-1], "rounds": rounds}


def run_crowd(ctx, scales):
    """`ctx` carries bench/run's helpers: log, run, wrk, Server, pg_database, http_json, WORK, BIN, BENCH, DURATION."""
    results = {}
    paths, suggestions = ctx.WORK / "crowd-paths.txt", ctx.WORK / "suggest-paths.txt"
    crowd_paths(paths)
    suggest_paths(suggestions)
    for scale in scales:
        ndjson = ctx.WORK / f"catalogue-{scale}.ndjson"
        generate(ndjson, scale)
        ctx.log(f"crowd: generated {scale} listings")
        targets = [("postgres", ctx.pg_database(f"bench_crowd_{scale}")), ("sqlite", str(ctx.WORK / f"crowd-{scale}.db"))]
        for backend, url in targets:
            started = time.time()
            ctx.run([str(ctx.BIN), "import", str(ndjson), "--database-url", url], env={"RUST_LOG": "warn"})
            import_s = time.time() - started
            index_dir = ctx.WORK / f"index-{backend}-{scale}"
            server = ctx.Server(url, f"crowd-{backend}-{scale}", NONGSAN__CATALOGUE__INDEX_DIR=str(index_dir))
            build_s = index_build_seconds(server.log_path.read_text())
            ctx.wrk(server.base + "/api/v1/products?q=vai", 4, 2, ctx.BENCH / "crowd.lua", env={"BENCH_PATHS": str(paths)})
            crowd = ctx.wrk(server.base, 32, ctx.DURATION, ctx.BENCH / "crowd.lua", env={"BENCH_PATHS": str(paths)})
            healthz = ctx.wrk(server.base + "/healthz", 32, ctx.DURATION)
            suggest = ctx.wrk(server.base, 32, 5, ctx.BENCH / "crowd.lua", env={"BENCH_PATHS": str(suggestions)})
            entry = {"import_s": import_s, "index_build_s": build_s, "crowd": crowd, "healthz": healthz,
                     "suggest": suggest}
            if scale == scales[0] and backend == "postgres":
                # A second server on the same database, the crowd on both, a change on the first.
                other = ctx.Server(url, f"crowd-{backend}-{scale}-b", NONGSAN__CATALOGUE__INDEX_DIR=str(index_dir) + "-b")
                load = [threading.Thread(target=ctx.wrk, args=(s.base, 16, 20, ctx.BENCH / "crowd.lua"),
                                         kwargs={"env": {"BENCH_PATHS": str(paths)}}, daemon=True) for s in (server, other)]
                for thread in load:
                    thread.start()
                time.sleep(1)
                entry["freshness"] = freshness(server, other, ctx.http_json)
                for thread in load:
                    thread.join()
                other.stop()
            entry["peak_rss_mb"] = server.peak_rss_mb()
            server.stop()
            # A restart opens the index it left (no rebuild); it then serves the crowd without the
            # answer cache, to say what the cache adds.
            restarted = ctx.Server(url, f"crowd-{backend}-{scale}-restart", NONGSAN__CATALOGUE__INDEX_DIR=str(index_dir),
                                   NONGSAN__CATALOGUE__CACHE_TTL="0s")
            entry["restart_rebuilt"] = index_build_seconds(restarted.log_path.read_text()) is not None
            entry["crowd_uncached"] = ctx.wrk(restarted.base, 32, ctx.DURATION, ctx.BENCH / "crowd.lua",
                                              env={"BENCH_PATHS": str(paths)})
            restarted.stop()
            results[f"{backend}_{scale}"] = entry
            ctx.log(f"crowd {backend} {scale}: {crowd['rps']:.0f}/s p99 {crowd['p99_ms']:.1f} ms, "
                    f"healthz {healthz['rps']:.0f}/s, suggest p99 {suggest['p99_ms']:.1f} ms, build {build_s} s")
    return results
