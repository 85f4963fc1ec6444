export default { appId: "wanyun.DemoApp" };
