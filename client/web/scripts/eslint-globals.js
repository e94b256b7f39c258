// The globals Node gives build scripts (without another npm package for it).
export default {
  node: {
    console: "readonly",
    process: "readonly",
    URL: "readonly",
    Buffer: "readonly",
  },
};
