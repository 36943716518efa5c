// Reads the plain structure files written by bench/lto_cell.py (n, 3 cell rows, 'Z x y z').
#pragma once
#include <fstream>
#include <stdexcept>
#include <string>

#include "sagpr/frame.hpp"

inline sagpr::Frame read_plain_frame(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    int n = 0;
    in >> n;
    sagpr::Frame frame;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) in >> frame.cell(r, c);
    frame.positions.resize(n, 3);
    frame.numbers.resize(n);
    for (int i = 0; i < n; ++i) in >> frame.numbers[i] >> frame.positions(i, 0) >> frame.positions(i, 1) >> frame.positions(i, 2);
    if (!in) throw std::runtime_error("could not parse " + path);
    frame.pbc = {true, true, true};
    return frame;
}
