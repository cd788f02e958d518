import FFRTMPModel
import FFRTMPWire
import Foundation

// The master's decoding of a job body, alone: WireDecoding.decode(NewJob) (the nesting scan,
// then JSONDecoder with JSONValue parameters) against Foundation's JSONSerialization of the
// same bytes, in one run, median of RUNS. Bodies: 1 MiB of parameters nested 4 and 32 deep,
// and the 32 KB hostile nesting (refused by the scan).
//
//   ffrtmp-bench-json [RUNS]      (scripts/bench/json-budget.sh runs it, release build)
//   ffrtmp-bench-json list [RUNS] [JOBS]   the job listing (ListBench.swift)

func body(depth: Int) -> Data {
    let row = "[" + (0..<1000).map(String.init).joined(separator: ",") + "]"
    var leaf = row
    for _ in 0..<(depth - 4) { leaf = #"{"k":"# + leaf + "}" }
    var leaves: [String] = []
    var size = 0
    while size < (1 << 20) - 8000 {
        leaves.append(leaf)
        size += leaf.count + 1
    }
    return Data((#"{"engine":"ffmpeg","parameters":{"l":["# + leaves.joined(separator: ",") + "]}}").utf8)
}

func median(_ runs: Int, _ f: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try f()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    return times.sorted()[runs / 2]
}

if CommandLine.arguments.dropFirst().first == "list" {
    let args = CommandLine.arguments.dropFirst(2).map { Int($0) }
    guard args.allSatisfy({ ($0 ?? 0) > 0 }) else {
        FileHandle.standardError.write(Data("usage: ffrtmp-bench-json list [RUNS] [JOBS] (positive integers)\n".utf8))
        exit(2)
    }
    try await benchList(runs: args.first.flatMap { $0 } ?? 15, jobs: args.dropFirst().first.flatMap { $0 } ?? 1000)
    exit(0)
}
let runs = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 15 : 15
let hostile = Data((#"{"id":"deep","parameters":"# + String(repeating: #"{"a":"#, count: 6500) + "1" + String(repeating: "}", count: 6500) + "}").utf8)
for (name, data) in [("depth 4", body(depth: 4)), ("depth 32", body(depth: 32))] {
    let ours = try median(runs) { _ = try WireDecoding.decode(NewJob.self, from: data) }
    let peer = try median(runs) { _ = try JSONSerialization.jsonObject(with: data) }
    print("\(name) (\(data.count) B): WireDecoding \(String(format: "%.2f", ours)) ms, JSONSerialization \(String(format: "%.2f", peer)) ms, ratio \(String(format: "%.2f", ours / peer))")
}
let refused = median(runs) { _ = try? WireDecoding.decode(NewJob.self, from: hostile) }
print("hostile 32 KB nesting (\(hostile.count) B): refused in \(String(format: "%.1f", refused * 1000)) us")
